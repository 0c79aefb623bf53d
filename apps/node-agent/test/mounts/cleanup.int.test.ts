// Stale FUSE mount cleanup against real mounts: a hung fuse-native server with processes blocked
// in it (they must come back, with an error), a server killed with -9 ("Transport endpoint is not
// connected"), a healthy one, a busy one (lazy unmount), and mounts that are not ours (outside the
// mount root, or not FUSE), which must be left alone.
//
// This process never touches a FUSE mount itself — every access goes through a child process.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  cleanupMount,
  cleanupStaleMounts,
  findStaleMounts,
  FUSE_CONNECTIONS_DIR,
  MountError,
  readMountInfo,
} from '../../src/mounts/index.ts';

const SERVER = fileURLToPath(new URL('./fuse-server.ts', import.meta.url));

interface Tracked {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

let base: string;
let mountRoot: string;
const children: Tracked[] = [];

function track(command: string, args: readonly string[], cwd?: string): Tracked {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
  }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
  const tracked = { child, exited };
  children.push(tracked);
  return tracked;
}

function run(
  command: string,
  args: readonly string[],
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 15_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) =>
      resolve({ ok: err === null, stdout, stderr }),
    );
  });
}

async function mountedAt(mountPoint: string): Promise<boolean> {
  return (await readMountInfo()).some((m) => m.mountPoint === mountPoint);
}

async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Starts fuse-server.ts on a fresh mount point and waits until the kernel lists the mount. */
async function startServer(name: string): Promise<{ server: Tracked; mountPoint: string }> {
  const mountPoint = path.join(mountRoot, name);
  await fs.mkdir(mountPoint, { recursive: true });
  const server = track(process.execPath, [SERVER, mountPoint]);
  let stdout = '';
  server.child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  await waitUntil(`${mountPoint} to be mounted`, async () => {
    if (server.child.exitCode !== null) throw new Error(`fuse server exited early`);
    return stdout.includes('mounted') && (await mountedAt(mountPoint));
  });
  return { server, mountPoint };
}

async function waiting(mountPoint: string): Promise<number> {
  const m = (await readMountInfo()).find((x) => x.mountPoint === mountPoint);
  if (m === undefined) return 0;
  const text = await fs.readFile(
    path.join(FUSE_CONNECTIONS_DIR, String(m.minor), 'waiting'),
    'utf8',
  );
  return Number(text.trim());
}

/** Last resort if a test failed half-way: abort and lazily unmount everything FUSE under `base`. */
async function forceCleanup(): Promise<void> {
  const mounts = (await readMountInfo())
    .filter((m) => m.mountPoint.startsWith(`${base}/`))
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length);
  for (const m of mounts) {
    if (m.fsType.startsWith('fuse')) {
      await fs
        .writeFile(path.join(FUSE_CONNECTIONS_DIR, String(m.minor), 'abort'), '1')
        .catch(() => undefined);
    }
    await run('umount', ['-l', m.mountPoint]);
  }
}

beforeAll(async () => {
  // The tests watch /sys/fs/fuse/connections/<N>/waiting themselves; hosts without systemd do not
  // mount fusectl (a node agent mounts it on demand, as cleanupMount does).
  const mounted = (await readMountInfo()).some(
    (m) => m.mountPoint === FUSE_CONNECTIONS_DIR && m.fsType === 'fusectl',
  );
  if (!mounted) await run('mount', ['-t', 'fusectl', 'fusectl', FUSE_CONNECTIONS_DIR]);
});

beforeEach(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'cordon-mounts-'));
  mountRoot = path.join(base, 'mnt');
  await fs.mkdir(mountRoot);
});

afterEach(async () => {
  await forceCleanup();
  for (const { child, exited } of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
  await fs.rm(base, { recursive: true, force: true });
});

describe('stale FUSE mounts', () => {
  it('a hung server: blocked readers come back with an error, the mount is gone', async () => {
    const { mountPoint } = await startServer('sandbox-1');
    // Sanity: the server answers normal requests.
    expect((await run('cat', [path.join(mountPoint, 'ok')])).stdout).toBe('ok\n');

    const reader = track('cat', [path.join(mountPoint, 'hang-read')]);
    const stater = track('stat', [path.join(mountPoint, 'hang-stat')]);
    await waitUntil('both requests to be pending', async () => (await waiting(mountPoint)) >= 2);
    await sleep(200);
    expect(reader.child.exitCode).toBeNull(); // really blocked in the kernel
    expect(stater.child.exitCode).toBeNull();

    const stale = await findStaleMounts({ mountRoot });
    expect(stale.map((m) => m.mountPoint)).toEqual([mountPoint]);
    const results = await cleanupStaleMounts({ mountRoot });
    expect(results).toHaveLength(1);
    expect(results[0]?.steps[0]).toBe('aborted');
    expect(results[0]?.wasMounted).toBe(true);

    const [r, s] = await Promise.all([reader.exited, stater.exited]);
    expect(r.code).not.toBe(0);
    expect(s.code).not.toBe(0);
    expect(await mountedAt(mountPoint)).toBe(false);
    expect(await findStaleMounts({ mountRoot })).toEqual([]);
  });

  it('mounts the FUSE control filesystem on demand to abort a hung connection', async () => {
    const { mountPoint } = await startServer('sandbox-6');
    const reader = track('cat', [path.join(mountPoint, 'hang-read')]);
    await waitUntil('the read to be pending', async () => (await waiting(mountPoint)) >= 1);
    // An empty directory stands in for a host where fusectl is not mounted.
    const connections = path.join(base, 'connections');
    await fs.mkdir(connections);
    const result = await cleanupMount(mountPoint, {
      connectionsDir: connections,
      hungAfterMs: 200,
    });
    expect(result.steps).toEqual(['aborted', 'fusermount']);
    expect((await reader.exited).code).not.toBe(0);
    expect(
      (await readMountInfo()).some((m) => m.mountPoint === connections && m.fsType === 'fusectl'),
    ).toBe(true);
    expect(await mountedAt(mountPoint)).toBe(false);
  });

  it('a server killed with -9: "Transport endpoint is not connected" is cleaned', async () => {
    const { server, mountPoint } = await startServer('sandbox-2');
    server.child.kill('SIGKILL');
    await server.exited;
    const probe = await run('stat', [mountPoint]);
    expect(probe.ok).toBe(false);
    expect(probe.stderr).toContain('Transport endpoint is not connected');

    const result = await cleanupMount(mountPoint);
    expect(result).toEqual({ mountPoint, wasMounted: true, steps: ['fusermount'] });
    expect(await mountedAt(mountPoint)).toBe(false);
    expect((await run('stat', [mountPoint])).ok).toBe(true);
  });

  it('a healthy server is unmounted with fusermount -u', async () => {
    const { mountPoint } = await startServer('sandbox-3');
    expect(await cleanupMount(mountPoint)).toEqual({
      mountPoint,
      wasMounted: true,
      steps: ['fusermount'],
    });
    expect(await mountedAt(mountPoint)).toBe(false);
  });

  it('a busy mount (a process has its cwd in it) is detached lazily', async () => {
    const { mountPoint } = await startServer('sandbox-4');
    const squatter = track('sleep', ['60'], mountPoint);
    // /proc/<pid>/cwd names the directory without entering the mount.
    await waitUntil('the squatter to sit in the mount', async () => {
      const link = await fs.readlink(`/proc/${squatter.child.pid ?? 0}/cwd`).catch(() => '');
      return link === mountPoint;
    });
    const result = await cleanupMount(mountPoint);
    expect(result.steps).toEqual(['lazy-umount']);
    expect(await mountedAt(mountPoint)).toBe(false);
  });

  it('leaves mounts outside the mount root and non-FUSE mounts alone', async () => {
    // A C FUSE filesystem (bindfs) in a sibling whose name extends the root's: not ours.
    const outside = path.join(base, 'mnt-other');
    const source = path.join(base, 'src');
    await fs.mkdir(outside);
    await fs.mkdir(source);
    expect((await run('bindfs', [source, outside])).ok).toBe(true);
    // A tmpfs below the root: not FUSE, never unmounted by us.
    const tmpfs = path.join(mountRoot, 'tmpfs');
    await fs.mkdir(tmpfs);
    expect((await run('mount', ['-t', 'tmpfs', 'tmpfs', tmpfs])).ok).toBe(true);
    const { server, mountPoint } = await startServer('sandbox-5');
    server.child.kill('SIGKILL');
    await server.exited;

    const results = await cleanupStaleMounts({ mountRoot });
    expect(results.map((r) => r.mountPoint)).toEqual([mountPoint]);
    expect(await mountedAt(mountPoint)).toBe(false);
    expect(await mountedAt(outside)).toBe(true);
    expect(await mountedAt(tmpfs)).toBe(true);

    const error = await cleanupMount(tmpfs).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MountError);
    expect((error as MountError).code).toBe('NOT_FUSE');
    expect(await mountedAt(tmpfs)).toBe(true);
  });

  it('reports nothing to do for a plain directory', async () => {
    const plain = path.join(mountRoot, 'plain');
    await fs.mkdir(plain);
    expect(await cleanupMount(plain)).toEqual({ mountPoint: plain, wasMounted: false, steps: [] });
  });
});
