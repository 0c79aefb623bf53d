// A stateful shell in a sandbox: one long-lived bwrap + bash per session; cwd, variables, exports,
// functions, aliases and shell options persist from one command to the next.
//
// Each command: the agent writes the command text to c<id> in the session directory (read-only
// inside the sandbox), opens the read ends of the command's FIFOs o<id>/e<id>, and sends one request
// line. The shell forks the command into its own process group with stdout/stderr on those FIFOs,
// reports S (started, with the process group), C (state saved) and D (done, exit status) on fd 6.
// Output is complete when D has arrived and both FIFOs were drained (see fifo.ts); nothing the
// command prints can end or fake it. A timeout signals only that process group; the shell and the
// session state stay.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { ExecCgroup } from '../cgroup/types.ts';
import { OutputMux } from '../output/mux.ts';
import { DEFAULT_KILL_GRACE_MS } from '../runner/runner.ts';
import { SessionError } from './errors.ts';
import { FifoPool } from './fifo-pool.ts';
import { FifoReader } from './fifo.ts';
import {
  killLine,
  LineSplitter,
  parseRecord,
  requestLine,
  type ControlRecord,
  type SnapshotSlot,
} from './protocol.ts';
import { deferred } from './deferred.ts';
import { killSandbox, spawnSandboxProcess, type SandboxHandle } from './sandbox-process.ts';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_START_TIMEOUT_MS,
  defaultRuntimeDir,
  type SessionCommand,
  type SessionCommandResult,
  type SessionOptions,
  type SessionRunOptions,
  type SessionRunResult,
} from './types.ts';

/** Where the session directory appears inside the sandbox (read-only). */
export const SESSION_DIR = '/run/cordon-session';

const SHELL_SCRIPT = fs.readFileSync(new URL('./session-shell.sh', import.meta.url), 'utf8');
/** Sourced with the previous status as $1: sets `$?` for the next command without a fork. */
const RET_SCRIPT = 'return "$1"\n';

interface Running {
  readonly id: number;
  pgid: number | null;
  saved: boolean;
  killSignal: 'TERM' | 'KILL' | null;
  resolveDone: (status: number) => void;
  rejectDone: (err: Error) => void;
}

export class ShellSession implements AsyncDisposable {
  readonly mode = 'shell' as const;
  readonly #dir: string;
  readonly #leaf: ExecCgroup;
  readonly #pool: FifoPool;
  readonly #requests: Writable;
  readonly #kills: Writable;
  readonly #child: ReturnType<typeof spawnSandboxProcess>['child'];
  readonly #opts: SessionOptions;
  readonly #outputBytes: number;
  readonly #late = new Set<FifoReader>();
  readonly #closed = deferred<void>();
  #seq = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #pendingCommands = 0;
  #running: Running | null = null;
  #stateValid: SnapshotSlot | null = null;
  #prevStatus = 0;
  #idleTimer: NodeJS.Timeout | null = null;
  #closing: Promise<void> | null = null;
  #closeReason: string | null = null;
  #diagnostics = '';

  private constructor(
    dir: string,
    leaf: ExecCgroup,
    spawned: ReturnType<typeof spawnSandboxProcess>,
    owner: { uid: number; gid: number },
    opts: SessionOptions,
    outputBytes: number,
  ) {
    this.#dir = dir;
    this.#leaf = leaf;
    this.#opts = opts;
    this.#outputBytes = outputBytes;
    this.#child = spawned.child;
    this.#pool = new FifoPool(dir, owner);
    this.#requests = spawned.child.stdin as Writable;
    this.#requests.on('error', () => undefined);
    this.#kills = spawned.extra[1] as Writable;
    void this.#closed.promise.catch(() => undefined);
  }

  /** Starts the shell; resolves once it reported ready. Use openSession() from index.ts. */
  static async open(handle: SandboxHandle, opts: SessionOptions = {}): Promise<ShellSession> {
    const spec = handle.spec;
    const base = opts.runtimeDir ?? defaultRuntimeDir();
    const dir = await fsp.mkdtemp(path.join(base, 'cordon-session-'));
    let leaf: ExecCgroup | null = null;
    try {
      // root:<sandbox gid> 0750 on the host: the sandbox uid can read it, other host users cannot.
      await fsp.chown(dir, 0, spec.gid);
      await fsp.chmod(dir, 0o750);
      await fsp.writeFile(path.join(dir, 'shell.sh'), SHELL_SCRIPT, { mode: 0o644 });
      await fsp.writeFile(path.join(dir, 'ret'), RET_SCRIPT, { mode: 0o644 });
      leaf = await handle.cgroup.createExec(`session-${randomBytes(4).toString('hex')}`);
      const spawned = spawnSandboxProcess(
        handle,
        {
          argv: [
            '/bin/bash',
            '--noprofile',
            '--norc',
            '-c',
            `. ${SESSION_DIR}/shell.sh`,
            'bash',
            SESSION_DIR,
          ],
          ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
          ...(opts.env !== undefined ? { env: opts.env } : {}),
        },
        {
          leaf,
          binds: [{ hostPath: dir, sandboxPath: SESSION_DIR, readOnly: true }],
          extraFds: 2,
          stdin: 'pipe',
        },
      );
      const session = new ShellSession(dir, leaf, spawned, spec, opts, spec.limits.outputBytes);
      await session.#start(spawned.stdout, spawned.stderr, spawned.extra[0] as Readable);
      return session;
    } catch (err) {
      await leaf?.remove().catch(() => undefined);
      await fsp.rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  async #start(stdout: Readable, stderr: Readable, control: Readable): Promise<void> {
    // The shell's own stdout/stderr carry only diagnostics (bash errors before the loop runs).
    const keep = (buf: Buffer): void => {
      this.#diagnostics = (this.#diagnostics + buf.toString('utf8')).slice(-4096);
    };
    stdout.on('data', keep);
    stderr.on('data', keep);
    const ready = deferred<void>();
    const splitter = new LineSplitter();
    control.on('data', (buf: Buffer) => {
      let lines: string[];
      try {
        lines = splitter.push(buf);
      } catch (err) {
        this.#fail('PROTOCOL_ERROR', (err as Error).message);
        return;
      }
      for (const line of lines) {
        const rec = parseRecord(line);
        if (!rec) {
          this.#fail(
            'PROTOCOL_ERROR',
            `unexpected control record ${JSON.stringify(line.slice(0, 80))}`,
          );
          return;
        }
        if (rec.kind === 'ready') ready.resolve();
        else this.#onRecord(rec);
      }
    });
    control.on('end', () => this.#fail('SESSION_CLOSED', 'the session shell exited'));
    this.#child.once('exit', (code, signal) => {
      const why = `the session shell exited (${signal ?? `status ${code}`})${this.#diagnostics ? `: ${this.#diagnostics.trim()}` : ''}`;
      ready.reject(new SessionError('START_FAILED', why));
      this.#fail('SESSION_CLOSED', why);
    });
    const startTimeoutMs = this.#opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const timer = setTimeout(
      () =>
        ready.reject(
          new SessionError(
            'START_FAILED',
            `the session shell did not start within ${startTimeoutMs} ms`,
          ),
        ),
      startTimeoutMs,
    );
    try {
      await ready.promise;
    } catch (err) {
      await this.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    await this.#pool.ensure(1);
    this.#touch();
  }

  #onRecord(rec: Exclude<ControlRecord, { kind: 'ready' }>): void {
    const cur = this.#running;
    switch (rec.kind) {
      case 'started':
        if (!cur || rec.id !== cur.id || cur.pgid !== null)
          return this.#fail('PROTOCOL_ERROR', `unexpected start record for command ${rec.id}`);
        cur.pgid = rec.pgid;
        if (cur.killSignal) this.#signal(cur, cur.killSignal);
        return;
      case 'saved':
        if (!cur) return this.#fail('PROTOCOL_ERROR', 'snapshot record without a running command');
        cur.saved = true;
        return;
      case 'done':
        if (!cur || rec.id !== cur.id)
          return this.#fail('PROTOCOL_ERROR', `unexpected done record for command ${rec.id}`);
        cur.resolveDone(rec.status);
        return;
      case 'rejected':
        return this.#fail('PROTOCOL_ERROR', `the session shell rejected a request: ${rec.reason}`);
    }
  }

  /** Why the session ended, or null while it is open. */
  get closeReason(): string | null {
    return this.#closeReason;
  }

  /** Resolves when the session is closed and cleaned up. */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /** Runs one command to completion and returns its output as strings (bounded by the output cap). */
  async run(command: string, opts: SessionRunOptions = {}): Promise<SessionRunResult> {
    const cmd = this.stream(command, opts);
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    for await (const chunk of cmd) (chunk.stream === 'stdout' ? out : err).push(chunk.data);
    const result = await cmd.result;
    return {
      ...result,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
    };
  }

  /**
   * Runs one command with streamed output: ordered chunks { seq, stream, data } with backpressure
   * (a slow consumer pauses the command). Commands run one at a time in call order.
   */
  stream(command: string, opts: SessionRunOptions = {}): SessionCommand {
    if (typeof command !== 'string' || command.includes('\0')) {
      throw new SessionError(
        'INVALID_REQUEST',
        'a command must be a string without NUL bytes (bash cannot hold them)',
      );
    }
    const timeoutMs = opts.timeoutMs ?? this.#opts.commandTimeoutMs;
    if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
      throw new SessionError(
        'INVALID_REQUEST',
        `timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`,
      );
    }
    this.#assertOpen();
    const out = new PassThrough();
    const err = new PassThrough();
    const mux = new OutputMux(
      { stdout: out, stderr: err },
      {
        capBytes: opts.outputBytes ?? this.#outputBytes,
        ...(opts.highWaterBytes !== undefined ? { highWaterBytes: opts.highWaterBytes } : {}),
      },
    );
    const cancel = new AbortController();
    const onAbort = (): void => cancel.abort();
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });

    this.#pendingCommands++;
    const turn = this.#queue.then(() => this.#execute(command, out, err, timeoutMs, cancel.signal));
    this.#queue = turn.catch(() => undefined);
    const result = (async (): Promise<SessionCommandResult> => {
      let r: Awaited<typeof turn>;
      try {
        r = await turn;
      } finally {
        // The command's output is complete (or it never ran): end the streams so the mux ends.
        out.end();
        err.end();
        opts.signal?.removeEventListener('abort', onAbort);
        this.#pendingCommands--;
        this.#touch();
      }
      await mux.ended;
      return { ...r, ...mux.counts };
    })();
    void result.catch(() => undefined);
    return {
      result,
      cancel: onAbort,
      drain: () => mux.drain(),
      [Symbol.asyncIterator]: () => mux[Symbol.asyncIterator](),
    };
  }

  async #execute(
    command: string,
    out: PassThrough,
    err: PassThrough,
    timeoutMs: number | undefined,
    cancel: AbortSignal,
  ): Promise<{ exitCode: number; timedOut: boolean; canceled: boolean; durationMs: number }> {
    this.#assertOpen();
    const id = ++this.#seq;
    await this.#pool.ensure(id);
    const cmdFile = path.join(this.#dir, `c${id}`);
    fs.writeFileSync(cmdFile, command, { mode: 0o644, flag: 'wx' });
    this.#assertOpen();
    const readers: FifoReader[] = [];
    const done = deferred<number>();
    const cur: Running = {
      id,
      pgid: null,
      saved: false,
      killSignal: null,
      resolveDone: done.resolve,
      rejectDone: done.reject,
    };
    let timedOut = false;
    let canceled = false;
    let timer: NodeJS.Timeout | null = null;
    let graceTimer: NodeJS.Timeout | null = null;
    const stop = (): void => {
      if (cur.killSignal) return;
      this.#signal(cur, 'TERM');
      graceTimer = setTimeout(
        () => this.#signal(cur, 'KILL'),
        this.#opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
      );
    };
    const onCancel = (): void => {
      canceled = true;
      stop();
    };
    const started = performance.now();
    try {
      for (const [p, target] of [
        [this.#pool.stdoutPath(id), out],
        [this.#pool.stderrPath(id), err],
      ] as const) {
        const reader = FifoReader.open(p, target, () => this.#late.delete(reader));
        readers.push(reader);
      }
      this.#running = cur;
      const stateOut: SnapshotSlot = this.#stateValid === 0 ? 1 : 0;
      this.#requests.write(
        requestLine({ id, stateIn: this.#stateValid, stateOut, prevStatus: this.#prevStatus }),
      );
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          timedOut = true;
          stop();
        }, timeoutMs);
      }
      if (cancel.aborted) onCancel();
      else cancel.addEventListener('abort', onCancel, { once: true });

      const status = await done.promise;
      const durationMs = performance.now() - started;
      // Everything the command wrote is in the FIFOs now; take it, then let late writers be.
      for (const r of readers) {
        r.drain();
        r.detach();
        this.#late.add(r);
      }
      if (cur.saved) this.#stateValid = stateOut;
      this.#prevStatus = status;
      return { exitCode: status, timedOut, canceled, durationMs };
    } catch (e) {
      for (const r of readers) r.destroy();
      throw e;
    } finally {
      if (timer) clearTimeout(timer);
      if (graceTimer) clearTimeout(graceTimer);
      cancel.removeEventListener('abort', onCancel);
      if (this.#running === cur) this.#running = null;
      this.#pool.release(id);
      fs.unlink(cmdFile, () => undefined);
    }
  }

  #signal(cur: Running, sig: 'TERM' | 'KILL'): void {
    if (cur.killSignal !== 'KILL') cur.killSignal = sig;
    if (cur.pgid === null || this.#running !== cur) return;
    this.#kills.write(killLine(sig, cur.pgid));
  }

  #assertOpen(): void {
    if (this.#closing) {
      throw new SessionError(
        'SESSION_CLOSED',
        `the session is closed (${this.#closeReason ?? 'closed'}); open a new one`,
      );
    }
  }

  #touch(): void {
    if (this.#closing) return;
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    const idleMs = this.#opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#idleTimer = setTimeout(() => {
      if (this.#pendingCommands > 0) return this.#touch();
      void this.#shutdown(`idle for ${idleMs} ms`);
    }, idleMs);
    this.#idleTimer.unref();
  }

  #fail(code: 'PROTOCOL_ERROR' | 'SESSION_CLOSED', why: string): void {
    if (this.#closing) return;
    this.#running?.rejectDone(new SessionError(code, why));
    void this.#shutdown(why);
  }

  /** Kills the shell and everything started in the session, removes its files. Idempotent. */
  close(): Promise<void> {
    return this.#shutdown('closed by the caller');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #shutdown(reason: string): Promise<void> {
    this.#closing ??= (async () => {
      this.#closeReason = reason;
      if (this.#idleTimer) clearTimeout(this.#idleTimer);
      this.#running?.rejectDone(
        new SessionError(
          'SESSION_CLOSED',
          `the session was closed (${reason}) while the command ran`,
        ),
      );
      const exited = new Promise<void>((resolve) => {
        if (this.#child.exitCode !== null || this.#child.signalCode !== null) resolve();
        else this.#child.once('exit', () => resolve());
      });
      try {
        // The cgroup holds every process of the session, also daemons that left the process group.
        await killSandbox(this.#leaf, this.#child.pid, exited);
        await exited;
      } finally {
        for (const r of this.#late) r.destroy();
        this.#late.clear();
        this.#requests.destroy();
        this.#kills.destroy();
        await this.#leaf.remove().catch(() => undefined);
        await fsp.rm(this.#dir, { recursive: true, force: true });
        this.#closed.resolve();
      }
    })();
    return this.#closing;
  }
}
