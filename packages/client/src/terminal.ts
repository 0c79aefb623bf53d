import type { CordonError } from './errors.ts';
import { toCordonError } from './errors.ts';
import { ExecHandle } from './exec-handle.ts';
import { closeSession } from './session.ts';
import type { Transport } from './transport.ts';
import type { ExecResult } from './types.ts';

type Pending =
  | { readonly kind: 'data'; readonly data: Buffer }
  | { readonly kind: 'resize'; readonly cols: number; readonly rows: number };

/** Largest input one sessions.input call carries (the gateway's MAX_PTY_INPUT_BYTES). */
const MAX_INPUT_BYTES = 64 * 1024;

/**
 * An interactive terminal in a sandbox: bash on a pseudo-terminal. Iterate `output()` for what
 * the terminal shows, `write()` what the user types, `resize()` on window changes; `result`
 * resolves when the shell exits (Ctrl-D, `exit`, or close()), after its writes were committed.
 *
 * Input is sent in call order, one request at a time; keystrokes typed while one is in flight
 * travel together in the next.
 */
export class Terminal implements AsyncDisposable {
  readonly id: string;
  readonly execId: string;
  readonly #t: Transport;
  readonly #exec: ExecHandle;
  readonly #pending: Pending[] = [];
  #sending: Promise<void> | null = null;
  #failure: CordonError | null = null;
  #closed = false;

  constructor(t: Transport, id: string, execId: string) {
    this.#t = t;
    this.id = id;
    this.execId = execId;
    this.#exec = new ExecHandle(t, Promise.resolve(execId));
  }

  /** The terminal's output bytes, from the start; resumes transparently after reconnects. */
  async *output(o: { signal?: AbortSignal } = {}): AsyncGenerator<Buffer, void, undefined> {
    for await (const ev of this.#exec.events(o)) {
      if (ev.kind === 'stdout' || ev.kind === 'stderr') yield ev.data;
    }
  }

  /** How the shell ended: `exitCode` is the shell's (`exit 3` → 3); `commit` what it changed. */
  get result(): Promise<ExecResult> {
    return this.#exec.result;
  }

  /**
   * Sends input as typed: "ls\r" runs ls, "\x03" is Ctrl-C, "\x04" Ctrl-D. Resolves once the
   * gateway has it; rejects (and all later writes too) if it refused it.
   */
  write(data: string | Uint8Array): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    if (buf.length === 0) return this.#flushed();
    const last = this.#pending.at(-1);
    if (last?.kind === 'data' && last.data.length + buf.length <= MAX_INPUT_BYTES) {
      this.#pending[this.#pending.length - 1] = {
        kind: 'data',
        data: Buffer.concat([last.data, buf]),
      };
    } else {
      for (let off = 0; off < buf.length; off += MAX_INPUT_BYTES) {
        this.#pending.push({ kind: 'data', data: buf.subarray(off, off + MAX_INPUT_BYTES) });
      }
    }
    return this.#flushed();
  }

  /** Resizes the terminal; programs in it get SIGWINCH. Ordered with write(). */
  resize(cols: number, rows: number): Promise<void> {
    this.#pending.push({ kind: 'resize', cols, rows });
    return this.#flushed();
  }

  /** Ends the shell (like closing the terminal window). Idempotent; `result` then resolves. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await closeSession(this.#t, this.id);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #flushed(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    this.#sending ??= this.#drain();
    return this.#sending;
  }

  async #drain(): Promise<void> {
    try {
      for (let next = this.#pending.shift(); next; next = this.#pending.shift()) {
        if (next.kind === 'data') {
          await this.#t.trpc.sessions.input.mutate({
            sessionId: this.id,
            data: next.data.toString('base64'),
            encoding: 'base64',
          });
        } else {
          await this.#t.trpc.sessions.resize.mutate({
            sessionId: this.id,
            cols: next.cols,
            rows: next.rows,
          });
        }
      }
    } catch (err) {
      this.#pending.length = 0;
      this.#failure = toCordonError(err, this.#t.endpoints.origin);
      throw this.#failure;
    } finally {
      // Synchronously with the loop's last check: a write after this starts a new drain.
      this.#sending = null;
    }
  }
}
