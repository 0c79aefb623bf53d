// Removing a FUSE mount whatever state its server is in: alive, dead (SIGKILL: "Transport endpoint
// is not connected") or hung (requests never answered, callers blocked in the kernel). Never
// touches the mount itself — no stat, no readdir — because any access to a hung mount blocks the
// caller; it reads /proc/self/mountinfo and /sys/fs/fuse/connections and runs fusermount/umount
// as child processes with a timeout.
//
// Order: if requests have been pending for `hungAfterMs`, abort the connection first (every
// pending and future request then fails with ENOTCONN, so blocked processes return instead of
// staying in D state and holding the mount busy); then `fusermount3 -u` (or `fusermount -u`); if
// the mount is still there, `umount -l`; if requests are still pending in the detached mount,
// abort then.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MountError } from './errors.ts';
import {
  isFuseMount,
  mountsAt,
  PROC_MOUNTINFO,
  readMountInfo,
  type MountInfo,
} from './mountinfo.ts';
import { findStaleMounts } from './stale.ts';

export const FUSE_CONNECTIONS_DIR = '/sys/fs/fuse/connections';

export interface CleanupOptions {
  /** Requests pending at least this long mean the server is hung. Default 500. */
  readonly hungAfterMs?: number;
  /** Each fusermount/umount/mount child is killed after this long. Default 10 000. */
  readonly commandTimeoutMs?: number;
  /** Default /proc/self/mountinfo. */
  readonly mountinfoPath?: string;
  /** Default /sys/fs/fuse/connections (mounted as fusectl on demand when empty). */
  readonly connectionsDir?: string;
}

export type CleanupStep = 'aborted' | 'fusermount' | 'lazy-umount';

export interface CleanupResult {
  readonly mountPoint: string;
  /** False when nothing was mounted there (nothing done). */
  readonly wasMounted: boolean;
  /** What it took, in order. */
  readonly steps: readonly CleanupStep[];
}

const MAX_STACKED = 8;

export async function cleanupMount(
  mountPoint: string,
  options: CleanupOptions = {},
): Promise<CleanupResult> {
  const target = path.resolve(mountPoint);
  const ctx = new Cleanup(target, options);
  let wasMounted = false;
  for (let i = 0; i < MAX_STACKED; i++) {
    const top = (await ctx.mountsHere()).at(-1);
    if (top === undefined) break;
    if (!isFuseMount(top)) {
      throw new MountError(
        'NOT_FUSE',
        `${target} holds a ${top.fsType} mount, not FUSE; it is not the node agent's, unmount it by hand`,
      );
    }
    wasMounted = true;
    await ctx.remove(top);
  }
  if ((await ctx.mountsHere()).length > 0) {
    throw new MountError(
      'UNMOUNT_FAILED',
      `${target} is still mounted after ${MAX_STACKED} attempts`,
    );
  }
  return { mountPoint: target, wasMounted, steps: ctx.steps };
}

/** findStaleMounts + cleanupMount for each, deepest first (at node agent start). */
export async function cleanupStaleMounts(
  options: CleanupOptions & { readonly mountRoot: string },
): Promise<CleanupResult[]> {
  const stale = await findStaleMounts({
    mountRoot: options.mountRoot,
    mountinfoPath: options.mountinfoPath,
  });
  const results: CleanupResult[] = [];
  const done = new Set<string>();
  for (const m of stale) {
    if (done.has(m.mountPoint)) continue;
    done.add(m.mountPoint);
    results.push(await cleanupMount(m.mountPoint, options));
  }
  return results;
}

class Cleanup {
  readonly steps: CleanupStep[] = [];
  readonly #target: string;
  readonly #hungAfterMs: number;
  readonly #timeoutMs: number;
  readonly #mountinfo: string;
  readonly #connections: string;

  constructor(target: string, options: CleanupOptions) {
    this.#target = target;
    this.#hungAfterMs = options.hungAfterMs ?? 500;
    this.#timeoutMs = options.commandTimeoutMs ?? 10_000;
    this.#mountinfo = options.mountinfoPath ?? PROC_MOUNTINFO;
    this.#connections = options.connectionsDir ?? FUSE_CONNECTIONS_DIR;
  }

  async mountsHere(): Promise<MountInfo[]> {
    return mountsAt(await readMountInfo(this.#mountinfo), this.#target);
  }

  async remove(mount: MountInfo): Promise<void> {
    if (await this.#hung(mount)) await this.#abort(mount);
    const fusermount = await this.#run(['fusermount3', 'fusermount'], ['-u', this.#target]);
    if (fusermount && !(await this.#stillThere(mount))) {
      this.steps.push('fusermount');
    } else {
      await this.#run(['umount'], ['-l', this.#target]);
      if (await this.#stillThere(mount)) {
        throw new MountError(
          'UNMOUNT_FAILED',
          `fusermount -u and umount -l both failed on ${this.#target}; run them by hand as root`,
        );
      }
      this.steps.push('lazy-umount');
    }
    // A lazily detached mount lives on while processes use it; free any still blocked in it.
    if (!this.steps.includes('aborted') && (await this.#hung(mount))) await this.#abort(mount);
  }

  async #stillThere(mount: MountInfo): Promise<boolean> {
    return (await this.mountsHere()).some((m) => m.mountId === mount.mountId);
  }

  /** Requests have been waiting for at least hungAfterMs. */
  async #hung(mount: MountInfo): Promise<boolean> {
    const waiting = await this.#waiting(mount);
    if (waiting === null || waiting === 0) return false;
    await sleep(this.#hungAfterMs);
    return ((await this.#waiting(mount)) ?? 0) > 0;
  }

  async #waiting(mount: MountInfo): Promise<number | null> {
    await this.#ensureControlFs();
    try {
      const text = await fs.readFile(
        path.join(this.#connections, String(mount.minor), 'waiting'),
        'utf8',
      );
      return Number.parseInt(text.trim(), 10);
    } catch {
      return null; // connection already gone, or no control filesystem
    }
  }

  async #abort(mount: MountInfo): Promise<void> {
    await this.#ensureControlFs();
    const file = path.join(this.#connections, String(mount.minor), 'abort');
    try {
      await fs.writeFile(file, '1');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        // The connection ended on its own between the check and now: nothing left to abort.
        if (!(await this.#connectionExists(mount))) return;
      }
      throw new MountError(
        'ABORT_UNAVAILABLE',
        `cannot abort the hung FUSE connection ${mount.minor} of ${this.#target} through ${file}; mount fusectl there (mount -t fusectl fusectl ${this.#connections}) and run as root`,
        { cause: err },
      );
    }
    this.steps.push('aborted');
  }

  async #connectionExists(mount: MountInfo): Promise<boolean> {
    return fs.access(path.join(this.#connections, String(mount.minor))).then(
      () => true,
      () => false,
    );
  }

  /** fusectl is not mounted on every system (here: no systemd); mount it when the directory is empty. */
  async #ensureControlFs(): Promise<void> {
    const entries = await fs.readdir(this.#connections).catch(() => null);
    if (entries === null || entries.length > 0) return;
    const mounts = await readMountInfo(this.#mountinfo);
    if (mounts.some((m) => m.mountPoint === this.#connections && m.fsType === 'fusectl')) return;
    await this.#run(['mount'], ['-t', 'fusectl', 'fusectl', this.#connections]);
  }

  /** Runs the first of `commands` that exists; true on exit code 0. */
  async #run(commands: readonly string[], args: readonly string[]): Promise<boolean> {
    for (const command of commands) {
      const outcome = await runCommand(command, args, this.#timeoutMs);
      if (outcome !== 'missing') return outcome === 'ok';
    }
    return false;
  }
}

function runCommand(
  command: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<'ok' | 'failed' | 'missing'> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err) => {
      if (err === null) resolve('ok');
      else resolve((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'failed');
    });
  });
}
