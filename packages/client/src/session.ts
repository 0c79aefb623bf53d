import { CordonError, toCordonError } from './errors.ts';
import { ExecHandle } from './exec-handle.ts';
import type { Transport } from './transport.ts';
import type { SessionRunOptions, SessionRunResult } from './types.ts';

interface WireSessionResult {
  readonly exitCode: number;
  readonly stdout?: string;
  readonly stderr?: string;
  readonly timedOut?: boolean;
  readonly durationMs?: number;
}

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
    let wire: unknown;
    try {
      wire = await this.#t.untyped.mutation('sessions.exec', {
        sessionId: this.id,
        command,
        timeoutMs: o.timeoutMs ?? null,
      });
    } catch (err) {
      throw toCordonError(err, this.#t.endpoints.origin);
    }
    // A gateway may answer with the result itself or with an exec id whose output streams.
    if (wire && typeof wire === 'object' && 'execId' in wire) {
      const h = new ExecHandle(this.#t, Promise.resolve((wire as { execId: string }).execId));
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
    const r = wire as WireSessionResult;
    return {
      exitCode: r.exitCode,
      stdout: r.stdout ?? '',
      stderr: r.stderr ?? '',
      timedOut: r.timedOut ?? false,
      durationMs: r.durationMs ?? 0,
    };
  }

  /** Ends the shell and everything it started. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#t.untyped.mutation('sessions.close', { sessionId: this.id });
    } catch (err) {
      throw toCordonError(err, this.#t.endpoints.origin);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
