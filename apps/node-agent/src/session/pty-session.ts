// PTY mode: an interactive bash on a pseudo-terminal inside the sandbox, for tools that need a
// terminal (REPLs, editors, pagers, progress bars). Output is one stream of bytes; input is written
// by the caller as typed (Ctrl-C is "\x03"); the terminal can be resized.
//
// node-pty cannot pass extra fds, so the runner's payloads (passwd, group, seccomp) go through
// files the cgroup-joining wrapper opens on the fixed fds (runner/payload-files.ts). The exec keeps
// its controlling terminal (ExecRequest.newSession: false) so job control and Ctrl-C work; that
// terminal is this session's own PTY, never the agent's, so TIOCSTI could only inject input into
// the sandbox's own shell.
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import pty from '@lydell/node-pty';
import type { ExecCgroup } from '../cgroup/types.ts';
import { buildBwrapArgs } from '../runner/bwrap-args.ts';
import { writePayloadFiles } from '../runner/payload-files.ts';
import { wrapperArgvWithFiles } from '../runner/spawn.ts';
import { SessionError } from './errors.ts';
import { killSandbox, seccompFor, type SandboxHandle } from './sandbox-process.ts';
import { DEFAULT_IDLE_TIMEOUT_MS, defaultRuntimeDir, type SessionOptions } from './types.ts';

export interface PtySize {
  readonly cols: number;
  readonly rows: number;
}

export interface PtySessionOptions extends Omit<
  SessionOptions,
  'commandTimeoutMs' | 'killGraceMs' | 'startTimeoutMs'
> {
  readonly pty: PtySize;
  /** TERM inside the sandbox. Default xterm-256color. */
  readonly term?: string;
}

export interface Disposable {
  dispose(): void;
}

/** Why the session ended: its shell exited by itself, the caller closed it, or it sat idle. */
export type PtyCloseCause = 'exited' | 'closed' | 'idle';

/** How the shell ended: its exit code, or the signal that killed it (exitCode then 128 + n). */
export interface PtyExit {
  readonly exitCode: number;
  readonly signal: number | null;
}

const WRAPPER_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
const MAX_DIMENSION = 10_000;

function checkSize(cols: number, rows: number): void {
  for (const [name, v] of [
    ['cols', cols],
    ['rows', rows],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_DIMENSION) {
      throw new SessionError(
        'INVALID_REQUEST',
        `${name} must be an integer in 1..${MAX_DIMENSION}, got ${v}`,
      );
    }
  }
}

export class PtySession implements AsyncDisposable {
  readonly mode = 'pty' as const;
  readonly #term: pty.IPty;
  readonly #leaf: ExecCgroup;
  readonly #dir: string;
  readonly #idleMs: number;
  readonly #exited: Promise<PtyExit>;
  #idleTimer: NodeJS.Timeout | null = null;
  #closing: Promise<void> | null = null;
  #closeReason: string | null = null;
  #closeCause: PtyCloseCause | null = null;
  readonly #closed: Promise<void>;
  #markClosed: () => void = () => undefined;

  private constructor(term: pty.IPty, leaf: ExecCgroup, dir: string, idleMs: number) {
    this.#term = term;
    this.#leaf = leaf;
    this.#dir = dir;
    this.#idleMs = idleMs;
    this.#closed = new Promise((resolve) => {
      this.#markClosed = resolve;
    });
    this.#exited = new Promise((resolve) =>
      term.onExit(({ exitCode, signal }) =>
        resolve(signal ? { exitCode: 128 + signal, signal } : { exitCode, signal: null }),
      ),
    );
    void this.#exited.then(() => this.#shutdown('exited', 'the shell exited'));
    this.#touch();
  }

  /** Starts `bash -i` on a new PTY of the given size. Use openSession() from index.ts. */
  static async open(handle: SandboxHandle, opts: PtySessionOptions): Promise<PtySession> {
    checkSize(opts.pty.cols, opts.pty.rows);
    const spec = handle.spec;
    const dir = await fsp.mkdtemp(path.join(opts.runtimeDir ?? defaultRuntimeDir(), 'cordon-pty-'));
    let leaf: ExecCgroup | null = null;
    try {
      const files = await writePayloadFiles(dir, spec, seccompFor(handle) ?? undefined);
      leaf = await handle.cgroup.createExec(`pty-${randomBytes(4).toString('hex')}`);
      const vector = buildBwrapArgs(
        spec,
        {
          argv: ['/bin/bash', '-i'],
          newSession: false,
          env: { ...opts.env, TERM: opts.term ?? 'xterm-256color' },
          ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
        },
        handle.layout,
      );
      const [file, ...args] = wrapperArgvWithFiles(leaf.procsFiles, files, vector);
      const term = pty.spawn(file as string, args, {
        name: opts.term ?? 'xterm-256color',
        cols: opts.pty.cols,
        rows: opts.pty.rows,
        cwd: '/',
        env: WRAPPER_ENV,
        encoding: null,
      });
      return new PtySession(term, leaf, dir, opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
    } catch (err) {
      await leaf?.remove().catch(() => undefined);
      await fsp.rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Terminal output (stdout and stderr interleaved as the terminal shows them). */
  onData(listener: (data: Uint8Array) => void): Disposable {
    // With `encoding: null` node-pty delivers Buffers; its typings still say string.
    return this.#term.onData((d: string | Buffer) =>
      listener(typeof d === 'string' ? Buffer.from(d) : d),
    );
  }

  /** Input, as typed: "ls\r", "\x03" for Ctrl-C. */
  write(data: string | Uint8Array): void {
    this.#assertOpen();
    this.#touch();
    // node-pty hands the value to its socket, which takes bytes as they are; its typings say string.
    this.#term.write((typeof data === 'string' ? data : Buffer.from(data)) as string);
  }

  /** Resizes the terminal; programs inside get SIGWINCH (`stty size` shows the new size). */
  resize(cols: number, rows: number): void {
    this.#assertOpen();
    checkSize(cols, rows);
    this.#touch();
    this.#term.resize(cols, rows);
  }

  /** Flow control: stop reading output (the program blocks once the PTY buffer is full). */
  pause(): void {
    this.#term.pause();
  }

  resume(): void {
    this.#term.resume();
  }

  /** Resolves when the shell has exited (by itself, or because the session was closed). */
  get exited(): Promise<PtyExit> {
    return this.#exited;
  }

  /** Set once the session is closing: why, as a closed set (closeReason says it in words). */
  get closeCause(): PtyCloseCause | null {
    return this.#closeCause;
  }

  get closeReason(): string | null {
    return this.#closeReason;
  }

  /** Resolves when the session is closed and cleaned up (also after the shell exited by itself). */
  get closed(): Promise<void> {
    return this.#closed;
  }

  close(): Promise<void> {
    return this.#shutdown('closed', 'closed by the caller');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closing)
      throw new SessionError(
        'SESSION_CLOSED',
        `the session is closed (${this.#closeReason ?? 'closed'}); open a new one`,
      );
  }

  #touch(): void {
    if (this.#closing) return;
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(
      () => void this.#shutdown('idle', `idle for ${this.#idleMs} ms`),
      this.#idleMs,
    );
    this.#idleTimer.unref();
  }

  #shutdown(cause: PtyCloseCause, reason: string): Promise<void> {
    this.#closing ??= (async () => {
      this.#closeCause = cause;
      this.#closeReason = reason;
      if (this.#idleTimer) clearTimeout(this.#idleTimer);
      try {
        await killSandbox(this.#leaf, this.#term.pid, this.#exited);
        await this.#exited;
      } finally {
        await this.#leaf.remove().catch(() => undefined);
        await fsp.rm(this.#dir, { recursive: true, force: true });
        this.#markClosed();
      }
    })();
    return this.#closing;
  }
}
