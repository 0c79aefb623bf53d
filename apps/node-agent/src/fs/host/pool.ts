// Pre-started fs hosts, like the runner's standby wrappers: a node agent keeps a few fs host
// processes forked and their modules loaded, waiting for a `start` message with their config, so a
// new sandbox pays for the mount only — not for a Node process start and module load (~0.2 s).
// With `premountDir`, an idle host has also already mounted FUSE on a fresh directory there
// (serving nothing — every request fails with EIO — until its `start`), and that directory becomes
// the sandbox's mount point: a new sandbox then pays for neither the start-up nor the mount
// (fusermount). An idle host holds no sandbox data; if the node agent dies it exits on disconnect
// (unmounting), and its mount uses auto_unmount like every other.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_TUNING, type FsTuning } from '../options.ts';
import { forceUnmount } from '../teardown.ts';
import type { HostMessage } from './protocol.ts';

/**
 * How long after a lease's mount the pool refills by itself, when nobody calls replenish() first
 * (the node agent does, right after reporting the sandbox ready).
 */
export const REFILL_DELAY_MS = 100;

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
  /**
   * An existing directory, owned by the pool (emptied by the node agent at start, after removing
   * stale mounts): idle hosts premount on fresh subdirectories of it. Default none: no premount.
   * Must be traversable by the sandbox uids (bwrap binds the mount from there).
   */
  readonly premountDir?: string;
  /** Mount tuning of premounted hosts; a mount with other tuning gets a plain host. Default DEFAULT_TUNING. */
  readonly tuning?: FsTuning;
}

/** A host taken from the pool, now the caller's (see mountSandboxFs's `host` option). */
export interface FsHostLease {
  readonly child: ChildProcess;
  /**
   * The directory the host premounted on, which must be the sandbox's mount point; null for a
   * plain host (it mounts wherever its config says).
   */
  readonly mountPoint: string | null;
  /**
   * Premounted hosts: resolves true once the mount is up, false if it failed (the host is gone;
   * use respawn() and mount at `mountPoint` the usual way). Plain hosts: true.
   */
  readonly premounted: Promise<boolean>;
  /** A plain host (premount failed). */
  respawn(): ChildProcess;
  /** Call once the mount is up (or failed): tops the pool up again. */
  release(): void;
}

interface PoolHost {
  readonly child: ChildProcess;
  readonly mountPoint: string | null;
  readonly premounted: Promise<boolean>;
  /** Settled true: can be handed out without waiting. */
  ready: boolean;
  /** The pool's exit listener while idle. */
  onIdleExit?: () => void;
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
      c.send({ id: 0, type: 'health' }, () => undefined); // a dead host: `exited` answers
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
  readonly #premountDir: string | undefined;
  readonly tuning: FsTuning;
  /** Idle hosts, oldest first. */
  readonly #idle = new Set<PoolHost>();
  /** Set after a premount failed: the kernel or the directory cannot take one; plain hosts only. */
  #premountBroken = false;
  #closed = false;

  constructor(o: FsHostPoolOptions = {}) {
    this.#standby = o.standby ?? 2;
    this.#cacheDir = o.compileCacheDir;
    this.#premountDir = o.premountDir;
    this.tuning = o.tuning ?? DEFAULT_TUNING;
    this.#refill();
  }

  /**
   * An idle host, now the caller's: the oldest premounted one, else the oldest still premounting
   * (it started earlier than a fork made now would), else a freshly forked one. `premount: false`
   * asks for a plain host (a mount elsewhere or with other tuning). Call release() once the mount
   * is up: forking (synchronous in this process) and a new host's start-up would otherwise compete
   * with the mount for the CPU.
   */
  lease(o: { premount?: boolean } = {}): FsHostLease {
    const wantPremount = o.premount !== false && this.#premountDir !== undefined;
    let chosen: PoolHost | undefined;
    for (const h of this.#idle) {
      if (!alive(h.child)) continue;
      if ((h.mountPoint !== null) !== wantPremount) continue;
      if (h.ready) {
        chosen = h;
        break;
      }
      chosen ??= h;
    }
    if (chosen) {
      this.#idle.delete(chosen);
      if (chosen.onIdleExit) chosen.child.off('exit', chosen.onIdleExit);
      chosen.child.ref();
      chosen.child.channel?.ref();
    } else {
      chosen = this.#spawn(wantPremount && !this.#premountBroken);
    }
    const h = chosen;
    return {
      child: h.child,
      mountPoint: h.mountPoint,
      premounted: h.premounted,
      respawn: () => forkFsHost(this.#cacheDir),
      release: () => this.#replenishLater(),
    };
  }

  /** A plain idle host (no premount), or a freshly forked one; see lease(). */
  take(): ChildProcess {
    return this.lease({ premount: false }).child;
  }

  /**
   * Tops the idle hosts up again (after a lease) now. A node agent calls it once the new sandbox
   * is reported ready: a fork is synchronous in this process and would delay that report.
   */
  replenish(): void {
    if (this.#refillTimer) clearTimeout(this.#refillTimer);
    this.#refillTimer = null;
    setImmediate(() => this.#refill());
  }

  #refillTimer: NodeJS.Timeout | null = null;

  /** After a lease's mount: refill after REFILL_DELAY_MS unless replenish() comes first. */
  #replenishLater(): void {
    if (this.#refillTimer) return;
    this.#refillTimer = setTimeout(() => {
      this.#refillTimer = null;
      this.#refill();
    }, REFILL_DELAY_MS);
    this.#refillTimer.unref();
  }

  #spawn(premount: boolean): PoolHost {
    const child = forkFsHost(this.#cacheDir);
    if (!premount || this.#premountDir === undefined) {
      return { child, mountPoint: null, premounted: Promise.resolve(true), ready: true };
    }
    const mountPoint = path.join(this.#premountDir, randomBytes(8).toString('hex'));
    // Synchronous: the lease must name its mount point at once (the runner opens beside the mount).
    mkdirSync(mountPoint, { mode: 0o755 });
    const host: PoolHost = {
      child,
      mountPoint,
      ready: false,
      premounted: new Promise<boolean>((resolve) => {
        const onMessage = (m: HostMessage): void => {
          if (m.type === 'premounted') done(true);
          else if (m.type === 'fatal') {
            this.#premountBroken = true;
            done(false);
          }
        };
        const onExit = (): void => done(false);
        const done = (ok: boolean): void => {
          child.off('message', onMessage);
          child.off('exit', onExit);
          host.ready = ok;
          resolve(ok);
        };
        child.on('message', onMessage);
        child.once('exit', onExit);
      }),
    };
    // A failed write means the host is dying: its 'exit' (onExit) marks it not ready.
    child.send({ type: 'premount', mountPoint, tuning: this.tuning }, () => undefined);
    return host;
  }

  #refill(): void {
    while (!this.#closed && this.#idle.size < this.#standby) {
      const h = this.#spawn(!this.#premountBroken);
      this.#idle.add(h);
      h.onIdleExit = () => {
        this.#idle.delete(h);
        // An idle host that died (it unmounts when it can) leaves its directory behind.
        if (h.mountPoint !== null) void removeMountPoint(h.mountPoint);
      };
      h.child.once('exit', h.onIdleExit);
      // An idle host must not keep the node agent's event loop alive.
      h.child.unref();
      h.child.channel?.unref();
    }
  }

  /**
   * Stops the idle hosts and waits until they are gone (hosts handed out belong to their mounts),
   * then removes their mount points. An idle host serves no sandbox: SIGTERM (it unmounts), then
   * SIGKILL after `timeoutMs` and a forced unmount.
   */
  async close(timeoutMs = 5_000): Promise<void> {
    this.#closed = true;
    if (this.#refillTimer) clearTimeout(this.#refillTimer);
    const idle = [...this.#idle];
    this.#idle.clear();
    await Promise.all(
      idle.map(async ({ child: c, mountPoint, onIdleExit }) => {
        if (onIdleExit) c.off('exit', onIdleExit);
        if (alive(c)) {
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
        }
        if (mountPoint !== null) await removeMountPoint(mountPoint);
      }),
    );
  }
}

function alive(c: ChildProcess): boolean {
  return c.exitCode === null && c.signalCode === null && c.connected;
}

/** Unmounts what may be left at a pool mount point (its host is gone) and removes it. */
export async function removeMountPoint(mountPoint: string): Promise<void> {
  await forceUnmount(mountPoint).catch(() => undefined);
  // rmdir, not rm -r: a mount still there makes it fail (EBUSY) instead of recursing into it.
  await fsp.rmdir(mountPoint).catch(() => undefined);
}
