import type { SandboxRecord, SessionRecord } from '@cordon/protocol';
import { exportTar, deleteCodebase } from './codebases.ts';
import { CordonError, NotFoundError, toCordonError } from './errors.ts';
import { ExecHandle } from './exec-handle.ts';
import { applyTar } from './local/apply.ts';
import { argvOf, execInputOf } from './sandbox-options.ts';
import { Session } from './session.ts';
import { Terminal } from './terminal.ts';
import type { Transport } from './transport.ts';
import type {
  ExecOptions,
  HandlerOptions,
  HandlerResult,
  PullResult,
  RunOptions,
  RunResult,
  SessionOptions,
  TerminalOptions,
} from './types.ts';

/** Where the sandbox's codebase comes from, as fromLocal set it up. */
export interface LocalBinding {
  /** The local directory. */
  readonly dir: string;
  readonly codebaseId: string;
  /** `path`: the directory itself is the codebase; `upload`: a copy on the node (use pull()). */
  readonly mode: 'path' | 'upload';
  /** fromLocal created the codebase, so close() deletes it. */
  readonly owned: boolean;
  readonly ignore: readonly string[];
}

/**
 * A sandbox on the gateway. Commands run with the sandbox's policy and limits; each exec's writes
 * are committed to the codebase when it ends. Close it when done (`await using` does).
 */
export class Sandbox implements AsyncDisposable {
  readonly id: string;
  readonly record: SandboxRecord;
  /** Set when made by fromLocal. */
  readonly local: LocalBinding | null;
  readonly #t: Transport;
  #closed = false;

  constructor(t: Transport, record: SandboxRecord, local: LocalBinding | null) {
    this.#t = t;
    this.id = record.id;
    this.record = record;
    this.local = local;
  }

  /**
   * Starts a command and returns at once. Iterate the handle for live output; await
   * `handle.result` for how it ended; `handle.cancel()` stops it.
   */
  exec(argv: readonly string[], o: ExecOptions = {}): ExecHandle {
    const id = this.#t.trpc.sandboxes.exec.mutate(execInputOf(this.id, argv, o)).then(
      (r) => r.execId,
      (err: unknown) => {
        throw toCordonError(err, this.#t.endpoints.origin);
      },
    );
    return new ExecHandle(this.#t, id);
  }

  /**
   * Runs a command to the end and returns its output with the result. A string runs with
   * `/bin/sh -c`; an array is the argv. A command that fails or times out still resolves (see
   * `exitCode`, `timedOut`); it rejects only when Cordon could not run it.
   */
  async run(cmd: string | readonly string[], o: RunOptions = {}): Promise<RunResult> {
    const h = this.exec(argvOf(cmd), o);
    const onAbort = () => void h.cancel().catch(() => undefined);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      for await (const ev of h) {
        if (ev.kind === 'gap') continue;
        (ev.kind === 'stdout' ? out : err).push(ev.data);
        o.onOutput?.({ stream: ev.kind, data: ev.data });
      }
      const r = await h.result;
      return {
        ...r,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Opens a stateful shell (cwd, variables, functions persist between its `run`s). */
  async session(o: SessionOptions = {}): Promise<Session> {
    const rec = await this.#openSession(o, null);
    return new Session(this.#t, rec.id);
  }

  /**
   * Opens an interactive terminal (bash on a PTY) of `cols` × `rows` cells, for REPLs, editors
   * and anything that wants a TTY. What it writes is committed when its shell exits.
   */
  async terminal(o: TerminalOptions): Promise<Terminal> {
    const rec = await this.#openSession(o, {
      cols: o.cols,
      rows: o.rows,
      term: o.term ?? 'xterm-256color',
    });
    if (!rec.execId) {
      throw new CordonError('INTERNAL', `gateway opened terminal ${rec.id} without an exec`);
    }
    return new Terminal(this.#t, rec.id, rec.execId);
  }

  async #openSession(
    o: SessionOptions,
    pty: { cols: number; rows: number; term: string } | null,
  ): Promise<SessionRecord> {
    try {
      return await this.#t.trpc.sessions.create.mutate({
        sandboxId: this.id,
        ...(o.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: o.idleTimeoutMs }),
        ...(o.env === undefined ? {} : { env: { ...o.env } }),
        pty,
      });
    } catch (err) {
      throw toCordonError(err, this.#t.endpoints.origin);
    }
  }

  /**
   * Runs `handler(event)` from `code` in the sandbox (Lambda-style) and returns what it returned.
   * An exception in the handler resolves with `error` set; it rejects only when Cordon failed.
   */
  async handler<T = unknown>(o: HandlerOptions): Promise<HandlerResult<T>> {
    try {
      const r = await this.#t.trpc.sandboxes.handler.mutate({
        sandboxId: this.id,
        language: o.language,
        code: o.code,
        event: o.event ?? null,
        timeoutMs: o.timeoutMs ?? null,
      });
      return {
        // The handler's JSON, typed by the caller (T): the wire cannot check it.
        result: (r.result ?? undefined) as T | undefined,
        stdout: r.stdout,
        stderr: r.stderr,
        error: r.error,
        durationMs: r.durationMs,
      };
    } catch (err) {
      throw toCordonError(err, this.#t.endpoints.origin);
    }
  }

  /**
   * Brings committed changes into the local directory (uploaded codebases only; with a host-path
   * codebase they are already there and this returns zeros).
   */
  async pull(): Promise<PullResult> {
    const local = this.local;
    if (!local) {
      throw new CordonError(
        'BAD_REQUEST',
        `sandbox ${this.id} was not made by fromLocal, so it has no local directory to pull into`,
      );
    }
    if (local.mode === 'path') return { written: 0, deleted: 0 };
    const stream = await exportTar(this.#t, local.codebaseId);
    return applyTar(local.dir, stream, local.ignore);
  }

  /** Destroys the sandbox (and the codebase fromLocal uploaded). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#t.trpc.sandboxes.destroy.mutate({ sandboxId: this.id });
    } catch (err) {
      const e = toCordonError(err, this.#t.endpoints.origin);
      if (!(e instanceof NotFoundError)) throw e;
    }
    if (this.local?.owned) {
      await deleteCodebase(this.#t, this.local.codebaseId).catch((err: unknown) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
