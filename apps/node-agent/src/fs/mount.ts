// The node agent's handle on one sandbox's permission filesystem. The FUSE server runs in a
// separate fs host process (one per sandbox, see README "Permission filesystem"); this module
// starts it, talks to it over IPC and guarantees it is gone after unmount().
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { CanonicalPolicy } from '@cordon/policy';
import { AuditBuffer, DEFAULT_RATE_LIMIT, type DenialEvent, type RateLimit } from './audit.ts';
import { FsError } from './errors.ts';
import type {
  HostAfterExec,
  HostConfig,
  HostHealth,
  HostMessage,
  RequestType,
} from './host/protocol.ts';
import { forkFsHost, removeMountPoint, type FsHostLease, type FsHostPool } from './host/pool.ts';
import { DEFAULT_TUNING, type FsTuning } from './options.ts';
import { isWithin } from './paths.ts';
import { forceUnmount, fuseMountsAt } from './teardown.ts';

export const DEFAULT_QUOTA_BYTES = 1024 ** 3;

export interface MountSandboxFsOptions {
  readonly sandboxId: string;
  /** The codebase directory (absolute). */
  readonly sourceDir: string;
  /** This sandbox's delta directory (absolute; created if missing). */
  readonly deltaDir: string;
  /** An existing empty directory (absolute), outside sourceDir and deltaDir. */
  readonly mountPoint: string;
  /** A compiled policy or its canonical form and hash; the fs host recompiles and checks it. */
  readonly policy: { readonly canonical: CanonicalPolicy; readonly hash: string };
  /** Delta quota. Default 1 GiB; beyond it writes fail with ENOSPC. */
  readonly quotaBytes?: number;
  /** uid/gid every entry appears owned by inside the mount. Default 65534 (nobody). */
  readonly ownerUid?: number;
  readonly ownerGid?: number;
  readonly onDenial?: (event: DenialEvent) => void;
  /** Denial events kept for denials(). Default 1000. */
  readonly auditCapacity?: number;
  readonly rateLimit?: RateLimit;
  readonly tuning?: Partial<FsTuning>;
  /** Time allowed for the fs host to mount. Default 15 s. */
  readonly startTimeoutMs?: number;
  /** Time allowed for one request to the fs host. Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** Pre-started fs hosts to take one from (see host/pool.ts). Default none: fork one. */
  readonly pool?: FsHostPool;
  /**
   * A host already leased from a pool (instead of `pool`). If it premounted, `mountPoint` must be
   * the lease's; its directory is then removed with the mount.
   */
  readonly host?: FsHostLease;
}

export interface FsHealth extends Partial<HostHealth> {
  readonly ok: boolean;
  readonly pid: number | undefined;
  readonly reason?: string;
}

export interface SandboxFs {
  readonly sandboxId: string;
  readonly mountPoint: string;
  /** The fs host's pid. */
  readonly pid: number;
  /** Unmounts and stops the fs host; idempotent; never leaves the mount or the process behind. */
  unmount(): Promise<void>;
  /** Buffered denial events, oldest first (bounded by auditCapacity). */
  denials(): readonly DenialEvent[];
  /** Denials lost to the rate limit or to the buffer's bound. */
  lostDenials(): number;
  /** Pauses every request (they wait, not fail) so the committer can read the delta. */
  quiesce(): Promise<{ openHandles: number }>;
  /** Un-pauses without touching the delta (commit skipped or failed). */
  resume(): Promise<void>;
  /** The committer cleared the delta: drop the in-memory picture of it, reload, un-pause. */
  resetDelta(): Promise<void>;
  /** Another sandbox committed `paths` to the source: the next exec must see them. */
  invalidate(paths: readonly string[]): Promise<void>;
  /** Call right before starting an exec: applies pending invalidations (a remount). */
  beforeExec(): Promise<void>;
  /** Resolves once every denial recorded so far has reached denials() (they are batched). */
  syncDenials(): Promise<void>;
  health(): Promise<FsHealth>;
  /**
   * beforeExec + health, without a round trip to the fs host when nothing changed since the last
   * check that found it mounted (no invalidation since, the process alive). `remount: false`
   * skips pending invalidations (a session's shell holds the mount).
   */
  prepareExec(opts?: { remount?: boolean }): Promise<FsHealth>;
  /**
   * After an exec, one round trip: flushes denials (like syncDenials) and reports whether the
   * delta is clean (nothing to commit). With `commit: true` a delta without entries also has its
   * first-seen records dropped, as committing it would, so the caller can skip the commit.
   */
  afterExec(opts: { commit: boolean }): Promise<HostAfterExec>;
}

/** `premounted`: the mount point is our own host's idle FUSE mount, not a directory to check. */
async function validate(o: MountSandboxFsOptions, premounted: boolean): Promise<void> {
  for (const [name, p] of [
    ['sourceDir', o.sourceDir],
    ['deltaDir', o.deltaDir],
    ['mountPoint', o.mountPoint],
  ] as const) {
    if (!path.isAbsolute(p) || path.resolve(p) !== p) {
      throw new FsError(
        'BAD_OPTIONS',
        `${name} must be an absolute, normalised path, got ${JSON.stringify(p)}`,
      );
    }
  }
  const pairs = [
    [o.mountPoint, o.sourceDir],
    [o.mountPoint, o.deltaDir],
    [o.sourceDir, o.deltaDir],
  ] as const;
  for (const [a, b] of pairs) {
    if (isWithin(a, b) || isWithin(b, a)) {
      // The fs host makes synchronous calls on the source and delta; one inside its own mount
      // would deadlock it.
      throw new FsError(
        'BAD_OPTIONS',
        `${a} and ${b} overlap; give separate directories for the codebase, the delta and the mount point`,
      );
    }
  }
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(o.sandboxId)) {
    throw new FsError(
      'BAD_OPTIONS',
      `sandboxId must be 1-64 characters of [A-Za-z0-9_.-], got ${JSON.stringify(o.sandboxId)}`,
    );
  }
  const quota = o.quotaBytes ?? DEFAULT_QUOTA_BYTES;
  if (!Number.isSafeInteger(quota) || quota < 0) {
    throw new FsError('BAD_OPTIONS', `quotaBytes must be a non-negative integer, got ${quota}`);
  }
  const src = await fs.stat(o.sourceDir).catch(() => null);
  if (!src?.isDirectory())
    throw new FsError('BAD_OPTIONS', `sourceDir ${o.sourceDir} is not a directory`);
  // A stat through the premounted (unconfigured) mount would fail with EIO; the host checks that
  // it is the mount it made (FsServer.configure).
  if (premounted) return;
  const mp = await fs.stat(o.mountPoint).catch(() => null);
  if (!mp?.isDirectory())
    throw new FsError(
      'BAD_OPTIONS',
      `mountPoint ${o.mountPoint} is not a directory; create it first`,
    );
  if ((await fuseMountsAt(o.mountPoint)).length > 0) {
    throw new FsError(
      'BUSY',
      `${o.mountPoint} is already a FUSE mount; unmount it (or run the stale-mount cleanup) first`,
    );
  }
}

export async function mountSandboxFs(options: MountSandboxFsOptions): Promise<SandboxFs> {
  const lease = options.host;
  const leasedDir = lease?.mountPoint ?? null;
  let premounted = false;
  let freshDelta = false;
  try {
    // Settled first, so that a refused lease is torn down from a known state.
    if (leasedDir !== null) premounted = await (lease as FsHostLease).premounted;
    if (leasedDir !== null && leasedDir !== options.mountPoint) {
      throw new FsError(
        'BAD_OPTIONS',
        `the leased fs host premounted ${leasedDir}; mount the sandbox there, not at ${options.mountPoint}`,
      );
    }
    await validate(options, premounted);
    // mkdir returns the first directory it created: the delta dir itself if it was absent.
    freshDelta = (await fs.mkdir(options.deltaDir, { recursive: true, mode: 0o700 })) !== undefined;
  } catch (err) {
    if (lease) {
      if (premounted) await new HostHandle(lease.child, options, leasedDir).unmount();
      else {
        lease.child.kill('SIGKILL');
        if (leasedDir !== null) await removeMountPoint(leasedDir);
      }
      lease.release();
    }
    throw err;
  }
  const config: HostConfig = {
    sandboxId: options.sandboxId,
    sourceDir: options.sourceDir,
    deltaDir: options.deltaDir,
    mountPoint: options.mountPoint,
    policy: { canonical: options.policy.canonical, hash: options.policy.hash },
    quotaBytes: options.quotaBytes ?? DEFAULT_QUOTA_BYTES,
    owner: { uid: options.ownerUid ?? 65534, gid: options.ownerGid ?? 65534 },
    tuning: { ...DEFAULT_TUNING, ...options.tuning },
    rateLimit: options.rateLimit ?? DEFAULT_RATE_LIMIT,
    freshDelta,
  };
  let child: ChildProcess;
  if (lease) child = leasedDir !== null && !premounted ? lease.respawn() : lease.child;
  else child = options.pool?.take() ?? forkFsHost();
  const handle = new HostHandle(child, options, leasedDir);
  try {
    await handle.start(config, options.startTimeoutMs ?? 15_000);
  } catch (err) {
    await handle.unmount();
    throw err;
  } finally {
    lease?.release();
    options.pool?.replenish();
  }
  return handle;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

class HostHandle implements SandboxFs {
  readonly sandboxId: string;
  readonly mountPoint: string;
  readonly #child: ChildProcess;
  readonly #audit: AuditBuffer;
  readonly #onDenial: ((e: DenialEvent) => void) | undefined;
  readonly #requestTimeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #exited: Promise<void>;
  #nextId = 1;
  #dropped = 0;
  #dead: string | null = null;
  #unmounting: Promise<void> | null = null;
  /** An invalidation was sent since the last beforeExec (the host will remount). */
  #invalidated = false;
  /** The last health answer said mounted, and no request failed since. */
  #knownHealthy = false;
  /** A pool's premount directory this mount owns: removed after the unmount. */
  readonly #ownedDir: string | null;

  constructor(child: ChildProcess, o: MountSandboxFsOptions, ownedDir: string | null = null) {
    this.#ownedDir = ownedDir;
    this.sandboxId = o.sandboxId;
    this.mountPoint = o.mountPoint;
    this.#child = child;
    this.#audit = new AuditBuffer(o.auditCapacity ?? 1000);
    this.#onDenial = o.onDenial;
    this.#requestTimeoutMs = o.requestTimeoutMs ?? 30_000;
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#dead = `fs host exited (${signal ?? `code ${code}`})`;
        for (const p of this.#pending.values()) {
          clearTimeout(p.timer);
          p.reject(
            new FsError(
              'HOST_CRASHED',
              `${this.#dead}; the mount at ${this.mountPoint} is gone — destroy the sandbox`,
            ),
          );
        }
        this.#pending.clear();
        resolve();
      });
    });
    child.on('message', (m: HostMessage) => this.#onMessage(m));
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  #onMessage(m: HostMessage): void {
    if (m.type === 'denials') {
      this.#dropped = m.dropped;
      for (const e of m.events) {
        this.#audit.push(e);
        this.#onDenial?.(e);
      }
    } else if (m.type === 'reply') {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.result);
      else p.reject(new FsError(m.code, m.message));
    }
  }

  start(config: HostConfig, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new FsError(
            'HOST_TIMEOUT',
            `the fs host did not mount ${config.mountPoint} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const onMessage = (m: HostMessage): void => {
        if (m.type === 'ready') {
          cleanup();
          this.#knownHealthy = true;
          resolve();
        } else if (m.type === 'fatal') {
          cleanup();
          reject(new FsError(m.code, m.message));
        }
      };
      const onExit = (): void => {
        cleanup();
        reject(
          new FsError('HOST_CRASHED', `the fs host exited before mounting ${config.mountPoint}`),
        );
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#child.off('message', onMessage);
        this.#child.off('exit', onExit);
      };
      this.#child.on('message', onMessage);
      this.#child.once('exit', onExit);
      // A failed write means the host is dying: its 'exit' (onExit) rejects this start.
      this.#child.send({ type: 'start', config }, () => undefined);
    });
  }

  #request<T>(
    type: RequestType,
    paths?: readonly string[],
    extra?: { commit?: boolean },
  ): Promise<T> {
    if (this.#dead) {
      return Promise.reject(
        new FsError(
          'HOST_CRASHED',
          `${this.#dead}; the mount at ${this.mountPoint} is gone — destroy the sandbox`,
        ),
      );
    }
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new FsError(
            'HOST_TIMEOUT',
            `the fs host did not answer ${type} within ${this.#requestTimeoutMs} ms; treat the mount as unhealthy`,
          ),
        );
      }, this.#requestTimeoutMs);
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      // The host may have died before its 'exit' arrived: the write then fails (EPIPE, channel
      // closed). With a callback that failure is this request's, not an uncaught 'error' event.
      this.#child.send({ id, type, ...(paths ? { paths } : {}), ...extra }, (err) => {
        if (!err || !this.#pending.delete(id)) return;
        clearTimeout(timer);
        reject(
          new FsError(
            'HOST_CRASHED',
            `the fs host is gone (${err.message}); the mount at ${this.mountPoint} is unusable — destroy the sandbox`,
          ),
        );
      });
    });
  }

  denials(): readonly DenialEvent[] {
    return this.#audit.list();
  }

  lostDenials(): number {
    return this.#dropped + this.#audit.lost;
  }

  quiesce(): Promise<{ openHandles: number }> {
    return this.#request('quiesce');
  }

  async resume(): Promise<void> {
    await this.#request('resume');
  }

  async resetDelta(): Promise<void> {
    await this.#request('resetDelta');
  }

  async invalidate(paths: readonly string[]): Promise<void> {
    // Set before the message is sent: a prepareExec after this call goes to the host (IPC keeps
    // order, so the host has the invalidation when it gets the prepareExec).
    this.#invalidated = true;
    await this.#request('invalidate', paths);
  }

  async beforeExec(): Promise<void> {
    const was = this.#invalidated;
    this.#invalidated = false;
    try {
      await this.#request('beforeExec');
    } catch (err) {
      this.#invalidated ||= was;
      this.#knownHealthy = false;
      throw err;
    }
  }

  async prepareExec({ remount = true }: { remount?: boolean } = {}): Promise<FsHealth> {
    if (this.#dead) return { ok: false, pid: this.#child.pid, reason: this.#dead };
    if (this.#unmounting) return { ok: false, pid: this.#child.pid, reason: 'unmounted' };
    if (this.#knownHealthy && (!remount || !this.#invalidated)) {
      return { ok: true, pid: this.#child.pid };
    }
    if (!remount) return this.#checkHealth();
    const was = this.#invalidated;
    this.#invalidated = false;
    try {
      const h = await this.#request<HostHealth>('prepareExec');
      this.#knownHealthy = h.mounted && !h.pendingInvalidation;
      if (!h.mounted) return { ...h, ok: false, pid: this.#child.pid, reason: 'not mounted' };
      return { ...h, ok: true, pid: this.#child.pid };
    } catch (err) {
      this.#invalidated ||= was;
      this.#knownHealthy = false;
      return { ok: false, pid: this.#child.pid, reason: (err as Error).message };
    }
  }

  afterExec({ commit }: { commit: boolean }): Promise<HostAfterExec> {
    return this.#request<HostAfterExec>('afterExec', undefined, { commit });
  }

  async syncDenials(): Promise<void> {
    await this.#request('flushDenials');
  }

  health(): Promise<FsHealth> {
    return this.#checkHealth();
  }

  async #checkHealth(): Promise<FsHealth> {
    if (this.#dead) return { ok: false, pid: this.#child.pid, reason: this.#dead };
    try {
      const h = await this.#request<HostHealth>('health');
      this.#knownHealthy = h.mounted;
      if (!h.mounted) return { ...h, ok: false, pid: this.#child.pid, reason: 'not mounted' };
      return { ...h, ok: true, pid: this.#child.pid };
    } catch (err) {
      this.#knownHealthy = false;
      return { ok: false, pid: this.#child.pid, reason: (err as Error).message };
    }
  }

  unmount(): Promise<void> {
    this.#knownHealthy = false;
    this.#unmounting ??= this.#teardown();
    return this.#unmounting;
  }

  async #teardown(): Promise<void> {
    if (!this.#dead) {
      await Promise.race([
        this.#request('unmount').catch(() => undefined),
        new Promise((r) => setTimeout(r, 10_000)),
      ]);
      const exited = await Promise.race([
        this.#exited.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 5_000)),
      ]);
      if (!exited) {
        this.#child.kill('SIGKILL');
        await this.#exited;
      }
    }
    await forceUnmount(this.mountPoint);
    if (this.#ownedDir !== null) await removeMountPoint(this.#ownedDir);
  }
}
