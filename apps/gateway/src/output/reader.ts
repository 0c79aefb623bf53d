import {
  ErrorInfoSchema,
  ExecResultSchema,
  MAX_CHUNK_BYTES,
  redisKeys,
  seqOfStreamId,
  streamId,
  type ExecOutcome,
  type OutputEvent,
  type OutputStream,
} from '@cordon/protocol';
import type { WebSocket } from 'ws';
import { NO_OUTPUT_OBSERVER, type OutputObserver } from './observer.ts';
import type { SharedOutputReader, StreamEntries } from './shared-reader.ts';
import { websocketSink, type OutputSink } from './sink.ts';
import { ChunkBytes } from './ws-encoder.ts';

export interface ReadOutputOptions {
  /** The gateway's reader (two Redis connections shared by all subscribers). */
  readonly source: SharedOutputReader;
  readonly execId: string;
  /** Yield events after this seq (0 = from the start). */
  readonly afterSeq: number;
  /**
   * The subscriber's connection: reading pauses while it has more than `highWaterBytes` unsent.
   * A websocket (tRPC subscriptions) or any OutputSink (e.g. an HTTP response); null = no check.
   */
  readonly socket: WebSocket | OutputSink | null;
  readonly highWaterBytes: number;
  readonly batchEntries: number;
  readonly signal: AbortSignal | undefined;
  /** Called when a blocking read times out with nothing new; false ends the stream. */
  readonly stillExists: () => Promise<boolean>;
  /** Told about every chunk handed on; default none. */
  readonly observer?: OutputObserver;
}

/** An output event with the chunk's bytes as stored (raw), before any wire encoding. */
export type RawOutputEvent =
  | {
      readonly kind: 'chunk';
      readonly seq: number;
      readonly stream: OutputStream;
      readonly data: Buffer;
    }
  | Exclude<OutputEvent, { kind: 'chunk' }>;

const BLOCK_MS = 5_000;

function sinkOf(s: WebSocket | OutputSink | null): OutputSink | null {
  if (s === null) return null;
  return 'drained' in s ? s : websocketSink(s);
}

/**
 * The tRPC form: an OutputEvent whose chunk `data` is a ChunkBytes — base64 in JSON (the type
 * clients infer), raw bytes for connections with the binary output encoder.
 */
export type WireOutputEvent =
  | (Omit<Extract<OutputEvent, { kind: 'chunk' }>, 'data'> & { readonly data: ChunkBytes })
  | Exclude<OutputEvent, { kind: 'chunk' }>;

export async function* readOutput(o: ReadOutputOptions): AsyncGenerator<WireOutputEvent, void> {
  for await (const ev of readRawOutput(o)) {
    yield ev.kind === 'chunk' ? { ...ev, data: new ChunkBytes(ev.data) } : ev;
  }
}

/**
 * Events of one exec's capped Redis stream, in seq order, ending after the `end` event. The stream
 * is read at the subscriber's pace: a read asks for about the subscriber's window
 * (`highWaterBytes`) of chunks, at most `batchEntries`; while a full batch is handed on, the next
 * one is already being read (so at most two batches are in memory), and no read is made while the
 * subscriber's connection is backed up — so a slow client costs Redis memory (bounded by MAXLEN),
 * not gateway memory. At the tail of the stream the subscriber waits in the shared reader's one
 * blocking read (no Redis connection of its own).
 */
export async function* readRawOutput(o: ReadOutputOptions): AsyncGenerator<RawOutputEvent, void> {
  const sink = sinkOf(o.socket);
  const observer = o.observer ?? NO_OUTPUT_OBSERVER;
  const drained = async () => {
    await sink?.drained(o.highWaterBytes, o.signal);
  };
  const key = redisKeys.execOutput(o.execId);
  const count = Math.max(
    1,
    Math.min(o.batchEntries, Math.max(4, Math.ceil(o.highWaterBytes / MAX_CHUNK_BYTES))),
  );
  let lastId = o.afterSeq > 0 ? streamId(o.afterSeq) : '0-0';
  let expect = o.afterSeq + 1;
  /** The next batch, read while the current one is handed on (only after a full batch). */
  let ahead: Promise<StreamEntries> | null = null;
  /**
   * The last read came back short: the subscriber is at the tail, so the next read goes straight
   * to the shared blocking read (which answers at once if entries arrived meanwhile) instead of
   * costing a non-blocking XREAD that most likely finds nothing.
   */
  let atTail = false;
  for (;;) {
    let entries: StreamEntries;
    if (ahead) {
      entries = await ahead;
      ahead = null;
      if (entries.length === 0) {
        atTail = true;
        continue;
      }
    } else {
      await drained();
      if (o.signal?.aborted) return;
      entries = atTail ? [] : await o.source.read(key, lastId, count);
      if (entries.length === 0) {
        entries = await o.source.wait(key, lastId, count, BLOCK_MS, o.signal);
        if (o.signal?.aborted) return;
        if (entries.length === 0) {
          if (!(await o.stillExists())) return;
          continue;
        }
      }
    }
    atTail = entries.length < count;
    const lastOfBatch = (entries[entries.length - 1] as [Buffer, Buffer[]])[0];
    if (entries.length === count) {
      ahead = o.source.read(key, lastOfBatch.toString('latin1'), count);
      // Settled through `await ahead` unless the subscriber leaves first.
      ahead.catch(() => undefined);
    }
    for (const [idBuf, flat] of entries) {
      const id = idBuf.toString('latin1');
      const seq = seqOfStreamId(id);
      lastId = id;
      const f = fieldsOf(flat);
      if (seq > expect) {
        yield { kind: 'gap', seq: seq - 1, fromSeq: expect, toSeq: seq - 1 };
      }
      expect = seq + 1;
      if (f.get('k')?.toString() === 'end') {
        yield { kind: 'end', seq, outcome: outcomeOf(f) };
        return;
      }
      const data = f.get('d') ?? Buffer.alloc(0);
      observer.chunkDelivered(data.length);
      yield {
        kind: 'chunk',
        seq,
        stream: f.get('s')?.toString() === 'stderr' ? 'stderr' : 'stdout',
        data,
      };
      await drained();
      if (o.signal?.aborted) return;
    }
  }
}

function fieldsOf(flat: Buffer[]): Map<string, Buffer> {
  const f = new Map<string, Buffer>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    f.set((flat[i] as Buffer).toString('latin1'), flat[i + 1] as Buffer);
  }
  return f;
}

function outcomeOf(f: Map<string, Buffer>): ExecOutcome {
  const text = (k: string) => f.get(k)?.toString('utf8') ?? '';
  const status = text('status');
  const result = text('result');
  const error = text('error');
  return {
    status: status === 'exited' || status === 'canceled' ? status : 'failed',
    result: result ? ExecResultSchema.parse(JSON.parse(result)) : null,
    error: error ? ErrorInfoSchema.parse(JSON.parse(error)) : null,
  };
}
