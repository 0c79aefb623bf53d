// stdout + stderr → one ordered stream of chunks { seq, stream, data }, consumed as an async
// iterable, with bounded memory:
//   - backpressure: when more than `highWaterBytes` are queued unconsumed, both pipes are paused,
//     so the child blocks in write() once the kernel pipe buffer is full; they resume when the
//     consumer has drained the queue below half the mark;
//   - cap: after `capBytes` delivered, further output is read and dropped (the command keeps
//     running, never blocked by a full pipe) and `truncated` becomes true.
// Memory held is therefore at most highWaterBytes + one read per stream, whatever the command prints.
import type { Readable } from 'node:stream';

export type StreamName = 'stdout' | 'stderr';

export interface OutputChunk {
  readonly seq: number;
  readonly stream: StreamName;
  readonly data: Uint8Array;
}

export interface OutputCounts {
  /** Bytes the command wrote to each stream (including dropped ones). */
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
  readonly truncated: boolean;
}

export interface OutputMuxOptions {
  /** Total bytes delivered before output is dropped. Default 64 MiB. */
  readonly capBytes?: number;
  /** Queued-but-unconsumed bytes at which the pipes are paused. Default 1 MiB. */
  readonly highWaterBytes?: number;
}

export const DEFAULT_HIGH_WATER_BYTES = 1024 * 1024;

export class OutputMux implements AsyncIterable<OutputChunk> {
  readonly #streams: Readonly<Record<StreamName, Readable | null>>;
  readonly #cap: number;
  readonly #high: number;
  readonly #queue: OutputChunk[] = [];
  #queuedBytes = 0;
  #deliveredBytes = 0;
  #seq = 0;
  #paused = false;
  #open = 0;
  #truncated = false;
  readonly #written: Record<StreamName, number> = { stdout: 0, stderr: 0 };
  #wake: (() => void) | null = null;
  #error: Error | null = null;
  #iterating = false;
  readonly #ended: Promise<void>;

  constructor(
    streams: { stdout: Readable | null; stderr: Readable | null },
    opts: OutputMuxOptions = {},
  ) {
    this.#streams = streams;
    this.#cap = opts.capBytes ?? 64 * 1024 * 1024;
    this.#high = opts.highWaterBytes ?? DEFAULT_HIGH_WATER_BYTES;
    const ends: Promise<void>[] = [];
    for (const name of ['stdout', 'stderr'] as const) {
      const s = streams[name];
      if (!s) continue;
      this.#open++;
      ends.push(
        new Promise<void>((resolve) => {
          s.on('data', (buf: Buffer) => this.#onData(name, buf));
          s.once('error', (err: Error) => {
            this.#error ??= err;
            this.#close(resolve);
          });
          s.once('end', () => this.#close(resolve));
          s.once('close', () => this.#close(resolve));
        }),
      );
    }
    this.#ended = Promise.all(ends).then(() => undefined);
  }

  /** Resolves when both pipes are at EOF (the queue may still hold chunks). */
  get ended(): Promise<void> {
    return this.#ended;
  }

  get counts(): OutputCounts {
    return {
      stdoutBytes: this.#written.stdout,
      stderrBytes: this.#written.stderr,
      truncated: this.#truncated,
    };
  }

  /** Queued bytes not yet consumed (for tests and metrics). */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  #closedStreams = new Set<() => void>();
  #close(resolve: () => void): void {
    if (this.#closedStreams.has(resolve)) return;
    this.#closedStreams.add(resolve);
    this.#open--;
    resolve();
    this.#notify();
  }

  #onData(stream: StreamName, buf: Buffer): void {
    this.#written[stream] += buf.byteLength;
    const room = this.#cap - this.#deliveredBytes;
    if (room <= 0) {
      if (buf.byteLength > 0) this.#truncated = true;
      return;
    }
    let data: Uint8Array = buf;
    if (buf.byteLength > room) {
      data = buf.subarray(0, room);
      this.#truncated = true;
    }
    this.#deliveredBytes += data.byteLength;
    this.#queue.push({ seq: this.#seq++, stream, data });
    this.#queuedBytes += data.byteLength;
    if (this.#queuedBytes >= this.#high && !this.#paused) this.#setPaused(true);
    this.#notify();
  }

  #setPaused(paused: boolean): void {
    this.#paused = paused;
    for (const s of Object.values(this.#streams)) {
      if (!s) continue;
      if (paused) s.pause();
      else s.resume();
    }
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  /**
   * Reads and drops everything (for callers that only want the result). After the cap is reached
   * the mux drops data itself, so this only matters below it.
   */
  async drain(): Promise<void> {
    const it = this[Symbol.asyncIterator]();
    while (!(await it.next()).done) {
      // discard
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<OutputChunk> {
    if (this.#iterating) throw new Error('OutputMux can be iterated only once');
    this.#iterating = true;
    for (;;) {
      const chunk = this.#queue.shift();
      if (chunk) {
        this.#queuedBytes -= chunk.data.byteLength;
        if (this.#paused && this.#queuedBytes <= this.#high / 2) this.#setPaused(false);
        yield chunk;
        continue;
      }
      if (this.#paused) this.#setPaused(false);
      if (this.#open === 0) {
        if (this.#error) throw this.#error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }
}
