// Pre-started fs hosts, like the runner's standby wrappers: a node agent keeps a few fs host
// processes forked and their modules loaded, waiting for a `start` message with their config, so a
// new sandbox pays for the mount only — not for a Node process start and module load (~0.2 s).
// An idle host holds no mount and no sandbox data; if the node agent dies it exits on disconnect.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const HOST_MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/**
 * Forks one fs host; it waits for its `start` message. `compileCacheDir`: Node's compile cache
 * (NODE_COMPILE_CACHE) for the host's modules — it keeps the type-stripped and compiled code, which
 * halves a host's start-up (~270 → ~135 ms here); entries are checked against the source.
 */
export function forkFsHost(compileCacheDir?: string): ChildProcess {
  return fork(HOST_MAIN, [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
    serialization: 'json',
    ...(compileCacheDir === undefined
      ? {}
      : { env: { ...process.env, NODE_COMPILE_CACHE: compileCacheDir } }),
  });
}

export interface FsHostPoolOptions {
  /** Idle hosts kept ready. Default 2; 0 disables the pool (every mount forks its host). */
  readonly standby?: number;
  /** Compile cache directory for the hosts (root-only; see forkFsHost). Default none. */
  readonly compileCacheDir?: string;
}

/**
 * Fills the compile cache: starts one host, waits until its modules are loaded (it answers a
 * request), stops it (Node writes the cache as it exits). Hosts started afterwards find every
 * entry and write nothing — so an orphaned host (its node agent killed) never writes into the data
 * dir late. Best effort: resolves false if the host did not answer within `timeoutMs`.
 */
export async function warmCompileCache(dir: string, timeoutMs = 10_000): Promise<boolean> {
  const c = forkFsHost(dir);
  const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
  let timer: NodeJS.Timeout | undefined;
  const answered = await Promise.race([
    new Promise<boolean>((resolve) => {
      c.once('message', () => resolve(true));
      c.send({ id: 0, type: 'health' });
    }),
    exited.then(() => false),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (c.exitCode === null && c.signalCode === null) c.kill(answered ? 'SIGTERM' : 'SIGKILL');
  await exited;
  return answered;
}

/** One per node agent (no globals); close() stops the idle hosts by PID. */
export class FsHostPool {
  readonly #standby: number;
  readonly #cacheDir: string | undefined;
  readonly #idle = new Set<ChildProcess>();
  #closed = false;

  constructor(o: FsHostPoolOptions = {}) {
    this.#standby = o.standby ?? 2;
    this.#cacheDir = o.compileCacheDir;
    this.#refill();
  }

  /**
   * An idle host (already started) if one is alive, else a freshly forked one. Call replenish()
   * once the mount is up: forking (synchronous in this process) and a new host's module load would
   * otherwise compete with the mount for the CPU.
   */
  take(): ChildProcess {
    let child: ChildProcess | undefined;
    for (const c of this.#idle) {
      this.#idle.delete(c);
      if (c.exitCode === null && c.signalCode === null && c.connected) {
        child = c;
        break;
      }
    }
    if (child) {
      child.removeAllListeners('exit');
      child.ref();
      child.channel?.ref();
      return child;
    }
    return forkFsHost(this.#cacheDir);
  }

  /** Tops the idle hosts up again (after a take()). */
  replenish(): void {
    setImmediate(() => this.#refill());
  }

  #refill(): void {
    while (!this.#closed && this.#idle.size < this.#standby) {
      const c = forkFsHost(this.#cacheDir);
      this.#idle.add(c);
      c.once('exit', () => this.#idle.delete(c));
      // An idle host must not keep the node agent's event loop alive.
      c.unref();
      c.channel?.unref();
    }
  }

  /**
   * Stops the idle hosts and waits until they are gone (hosts handed out belong to their mounts).
   * An idle host has nothing mounted, so SIGTERM (then SIGKILL after `timeoutMs`) is enough.
   */
  async close(timeoutMs = 5_000): Promise<void> {
    this.#closed = true;
    const idle = [...this.#idle];
    this.#idle.clear();
    await Promise.all(
      idle.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
        c.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const gone = await Promise.race([
          exited.then(() => true),
          new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
        ]);
        clearTimeout(timer);
        if (!gone) {
          c.kill('SIGKILL');
          await exited;
        }
      }),
    );
  }
}
