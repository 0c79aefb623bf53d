import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { awaitGroupGone } from './process-group.ts';

/** A child process of the stack, stopped by its PID (never by name). */
export interface Child {
  readonly name: string;
  readonly pid: number;
  /** Resolves once it exited (with its code or signal). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** True once stop() had to SIGKILL it (it did not exit within the grace period). */
  readonly forced: boolean;
}

export interface SpawnOptions {
  readonly name: string;
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here. */
  readonly logFile: string;
  /** With IPC: resolves on the child's first message (its "ready"). */
  readonly ipc?: boolean;
  readonly readyTimeoutMs?: number;
}

/** Starts a child; with `ipc`, waits for its first message and returns it. */
export async function spawnChild(o: SpawnOptions): Promise<{ child: Child; ready: unknown }> {
  const [file, ...args] = o.argv;
  if (file === undefined) throw new Error('empty argv');
  const log = openSync(o.logFile, 'a', 0o600);
  let proc: ChildProcess;
  try {
    proc = spawn(file, args, {
      env: o.env,
      stdio: ['ignore', log, log, ...(o.ipc ? (['ipc'] as const) : [])],
      // Its own process group: a terminal's Ctrl-C reaches only the parent, which stops the
      // children in order (nodes, gateway, Redis). In the terminal's group they all got SIGINT at
      // once; Redis went first and a node agent, unable to finish its graceful stop without it,
      // was SIGKILLed after the grace period.
      detached: true,
    });
  } finally {
    closeSync(log);
  }
  const pid = proc.pid;
  if (pid === undefined) {
    throw new Error(`${o.name} did not start (${o.argv.join(' ')}); see ${o.logFile}`);
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.once('exit', (code, signal) => r({ code, signal })),
  );
  let forced = false;
  // The child leads its own process group (detached): what it started there (a node agent's FUSE
  // servers) must be gone too before it counts as stopped; they may still be unmounting.
  const settleGroup = async (graceMs: number) => {
    if ((await awaitGroupGone(pid, graceMs)) > 0) forced = true;
  };
  const child: Child = {
    name: o.name,
    pid,
    exited,
    get forced() {
      return forced;
    },
    async stop(graceMs = 10_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        await settleGroup(graceMs);
        return;
      }
      proc.kill('SIGTERM');
      // The grace timer is cleared as soon as the child exits: left running, it kept a finished
      // `cordon run` alive for the whole grace period.
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([
        exited.then(() => true),
        new Promise<false>((r) => (timer = setTimeout(() => r(false), graceMs))),
      ]);
      clearTimeout(timer);
      if (!done) {
        forced = true;
        proc.kill('SIGKILL');
        await exited;
      }
      await settleGroup(graceMs);
    },
  };
  if (!o.ipc) return { child, ready: null };
  const timeoutMs = o.readyTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const ready = await Promise.race([
      new Promise<unknown>((r) => proc.once('message', r)),
      exited.then(({ code, signal }) => {
        throw new Error(
          `${o.name} exited while starting (${signal ?? `code ${code}`}); see ${o.logFile}`,
        );
      }),
      new Promise<never>((_, rej) => {
        timer = setTimeout(
          () => rej(new Error(`${o.name} was not ready after ${timeoutMs} ms; see ${o.logFile}`)),
          timeoutMs,
        );
      }),
    ]);
    proc.disconnect();
    return { child, ready };
  } catch (err) {
    await child.stop(2_000);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
