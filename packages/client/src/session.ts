import { CordonError, toCordonError } from './errors.ts';
import { ExecHandle } from './exec-handle.ts';
import type { Transport } from './transport.ts';
import type { SessionRunOptions, SessionRunResult } from './types.ts';

/**
 * A stateful shell in a sandbox: `cd`, variables, functions and options persist between `run`s.
 * Commands run one at a time, in call order. Close it (or `await using`) when done.
 */
export class Session implements AsyncDisposable {
  readonly id: string;
  readonly #t: Transport;
  #closed = false;

  constructor(t: Transport, id: string) {
    this.#t = t;
    this.id = id;
  }

  async run(command: string, o: SessionRunOptions = {}): Promise<SessionRunResult> {
    if (this.#closed) {
      throw new CordonError(
        'CONFLICT',
        `session ${this.id} is closed; open a new one with sb.session()`,
      );
    }
    const execId = this.#t.trpc.sessions.exec
      .mutate({ sessionId: this.id, command, timeoutMs: o.timeoutMs ?? null })
      .then(
        (r) => r.execId,
        (err: unknown) => {
          throw toCordonError(err, this.#t.endpoints.origin);
        },
      );
    const h = new ExecHandle(this.#t, execId);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    for await (const ev of h) {
      if (ev.kind === 'stdout') out.push(ev.data);
      else if (ev.kind === 'stderr') err.push(ev.data);
    }
    const r = await h.result;
    return {
      exitCode: r.exitCode ?? 128,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
      timedOut: r.timedOut,
      durationMs: r.durationMs,
    };
  }

  /** Ends the shell and everything it started. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await closeSession(this.#t, this.id);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export async function closeSession(t: Transport, sessionId: string): Promise<void> {
  try {
    await t.trpc.sessions.close.mutate({ sessionId });
  } catch (err) {
    throw toCordonError(err, t.endpoints.origin);
  }
}
