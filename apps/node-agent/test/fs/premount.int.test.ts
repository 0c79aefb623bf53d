// Premounted fs hosts (FsHostPool with premountDir): a pool host mounts FUSE before its sandbox is
// known and serves nothing until its start; the lease's directory becomes the sandbox's mount
// point. Behaviour and cleanup, not speed.
import { type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compilePolicy } from '@cordon/policy';
import { afterEach, describe, expect, it } from 'vitest';
import { FsError } from '../../src/fs/errors.ts';
import { forkFsHost, FsHostPool } from '../../src/fs/host/pool.ts';
import type { HostMessage } from '../../src/fs/host/protocol.ts';
import { mountSandboxFs, type SandboxFs } from '../../src/fs/index.ts';
import { DEFAULT_TUNING } from '../../src/fs/options.ts';
import { forceUnmount, fuseMountsAt } from '../../src/fs/teardown.ts';
import { DEFAULT_RATE_LIMIT } from '../../src/fs/audit.ts';

const POLICY = compilePolicy({
  preset: 'agent-safe',
  rules: [
    { pattern: '/**', permission: 'write', priority: 50 },
    { pattern: '/secret/**', permission: 'none', priority: 60 },
    { pattern: '/secret', permission: 'none', priority: 60 },
  ],
});

interface Env {
  readonly base: string;
  readonly src: string;
  readonly poolDir: string;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(): Env {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-premount-'));
  fs.chmodSync(base, 0o711);
  const src = path.join(base, 'src');
  fs.mkdirSync(path.join(src, 'secret'), { recursive: true });
  fs.writeFileSync(path.join(src, 'a.txt'), 'a');
  fs.writeFileSync(path.join(src, 'secret', 'key'), 'k');
  const poolDir = path.join(base, 'pool');
  fs.mkdirSync(poolDir, { mode: 0o711 });
  cleanups.push(async () => {
    // Whatever a failed test left: no mount may stay behind.
    for (const name of fs.readdirSync(poolDir)) await forceUnmount(path.join(poolDir, name));
    fs.rmSync(base, { recursive: true, force: true });
  });
  return { base, src, poolDir };
}

function newPool(env: Env, standby: number): FsHostPool {
  const pool = new FsHostPool({ standby, premountDir: env.poolDir });
  cleanups.push(() => pool.close());
  return pool;
}

function track(m: SandboxFs): SandboxFs {
  cleanups.push(() => m.unmount());
  return m;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** fs host processes that are children of this test process. */
function childHosts(): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (ppid === process.pid && cmd.includes('fs/host/main.ts')) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** A bare fs host (no pool), SIGKILLed at cleanup if still running. */
function trackedHost(): { child: ChildProcess; exited: Promise<void> } {
  const child = forkFsHost();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { child, exited };
}

function mountOptions(env: Env, id: string, mountPoint: string) {
  return {
    sandboxId: id,
    sourceDir: env.src,
    deltaDir: path.join(env.base, `delta-${id}`),
    mountPoint,
    policy: POLICY,
  };
}

describe('premounted fs hosts', () => {
  it('serve nothing before their start, then exactly the sandbox policy; unmount leaves nothing', async () => {
    const env = setup();
    const pool = newPool(env, 1);
    const lease = pool.lease();
    expect(lease.mountPoint).not.toBeNull();
    const mp = lease.mountPoint as string;
    expect(path.dirname(mp)).toBe(env.poolDir);
    expect(await lease.premounted).toBe(true);
    expect(await fuseMountsAt(mp)).toHaveLength(1);
    // No policy, no codebase yet: every request fails, nothing is listed.
    expect(() => fs.readdirSync(mp)).toThrow(/EIO/);
    expect(() => fs.statSync(path.join(mp, 'a.txt'))).toThrow(/EIO/);

    const m = track(await mountSandboxFs({ ...mountOptions(env, 'pm1', mp), host: lease }));
    expect(m.mountPoint).toBe(mp);
    expect(fs.readFileSync(path.join(mp, 'a.txt'), 'utf8')).toBe('a');
    expect(fs.readdirSync(mp).sort()).toEqual(['a.txt']);
    expect(() => fs.readFileSync(path.join(mp, 'secret', 'key'))).toThrow(/ENOENT/);
    fs.writeFileSync(path.join(mp, 'b.txt'), 'b');
    expect(fs.existsSync(path.join(env.src, 'b.txt'))).toBe(false);
    expect((await m.health()).ok).toBe(true);
    // Another sandbox committed: the remount happens at the premounted directory, same policy.
    await m.invalidate(['/a.txt']);
    expect((await m.prepareExec()).ok).toBe(true);
    expect((await m.health()).remounts).toBe(1);
    expect(await fuseMountsAt(mp)).toHaveLength(1);
    expect(fs.readdirSync(mp).sort()).toEqual(['a.txt', 'b.txt']);
    expect(() => fs.readFileSync(path.join(mp, 'secret', 'key'))).toThrow(/ENOENT/);

    const pid = m.pid;
    await m.unmount();
    expect(await fuseMountsAt(mp)).toHaveLength(0);
    expect(fs.existsSync(mp)).toBe(false);
    expect(alive(pid)).toBe(false);
  });

  it('two sandboxes from one pool get separate hosts, mounts and policies', async () => {
    const env = setup();
    const pool = newPool(env, 2);
    const a = pool.lease();
    const b = pool.lease();
    expect(a.mountPoint).not.toBe(b.mountPoint);
    const ma = track(
      await mountSandboxFs({ ...mountOptions(env, 'pa', a.mountPoint as string), host: a }),
    );
    const readOnly = compilePolicy({ preset: 'agent-safe', rules: [] });
    const mb = track(
      await mountSandboxFs({
        ...mountOptions(env, 'pb', b.mountPoint as string),
        policy: readOnly,
        host: b,
      }),
    );
    expect(ma.pid).not.toBe(mb.pid);
    fs.writeFileSync(path.join(ma.mountPoint, 'w.txt'), 'w');
    expect(() => fs.writeFileSync(path.join(mb.mountPoint, 'w.txt'), 'w')).toThrow(/EACCES/);
  });

  it('a lease used for another mount point is refused, and its host and mount are gone', async () => {
    const env = setup();
    const pool = newPool(env, 1);
    const lease = pool.lease();
    const mp = lease.mountPoint as string;
    const other = path.join(env.base, 'elsewhere');
    fs.mkdirSync(other);
    const err = await mountSandboxFs({ ...mountOptions(env, 'pm2', other), host: lease }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FsError);
    expect((err as FsError).code).toBe('BAD_OPTIONS');
    await until(() => !alive(lease.child.pid as number));
    expect(await fuseMountsAt(mp)).toHaveLength(0);
    expect(await fuseMountsAt(other)).toHaveLength(0);
    expect(fs.existsSync(mp)).toBe(false);
  });

  it('a premounted host refuses a config for another mount point and unmounts (fail closed)', async () => {
    const env = setup();
    const mp = path.join(env.poolDir, 'raw');
    fs.mkdirSync(mp);
    const { child, exited } = trackedHost();
    const next = () =>
      new Promise<HostMessage>((r) => child.once('message', (m) => r(m as HostMessage)));
    let msg = next();
    child.send({ type: 'premount', mountPoint: mp, tuning: DEFAULT_TUNING });
    expect((await msg).type).toBe('premounted');
    expect(await fuseMountsAt(mp)).toHaveLength(1);
    msg = next();
    child.send({
      type: 'start',
      config: {
        sandboxId: 'wrong',
        sourceDir: env.src,
        deltaDir: path.join(env.base, 'delta-wrong'),
        mountPoint: path.join(env.base, 'not-the-premount'),
        policy: { canonical: POLICY.canonical, hash: POLICY.hash },
        quotaBytes: 1024,
        owner: { uid: 65534, gid: 65534 },
        tuning: DEFAULT_TUNING,
        rateLimit: DEFAULT_RATE_LIMIT,
      },
    });
    const fatal = await msg;
    expect(fatal).toMatchObject({ type: 'fatal', code: 'BAD_OPTIONS' });
    await exited;
    expect(await fuseMountsAt(mp)).toHaveLength(0);
  });

  it('an idle premounted host whose node agent vanishes unmounts and removes its directory', async () => {
    const env = setup();
    const mp = path.join(env.poolDir, 'orphan');
    fs.mkdirSync(mp);
    const { child, exited } = trackedHost();
    const premounted = new Promise<HostMessage>((r) =>
      child.once('message', (m) => r(m as HostMessage)),
    );
    child.send({ type: 'premount', mountPoint: mp, tuning: DEFAULT_TUNING });
    expect((await premounted).type).toBe('premounted');
    expect(await fuseMountsAt(mp)).toHaveLength(1);
    // What a SIGKILLed node agent looks like from the host: its IPC channel closes.
    child.disconnect();
    await exited;
    expect(await fuseMountsAt(mp)).toHaveLength(0);
    expect(fs.readdirSync(env.poolDir)).toEqual([]);
  });

  it('a host whose agent vanishes while it is still mounting exits and leaves nothing (20 times)', async () => {
    const env = setup();
    for (let i = 0; i < 20; i++) {
      const mp = path.join(env.poolDir, `racing${i}`);
      fs.mkdirSync(mp);
      const { child, exited } = trackedHost();
      child.send({ type: 'premount', mountPoint: mp, tuning: DEFAULT_TUNING });
      // Gone at once or a little later: before, during or after the mount.
      await new Promise((r) => setTimeout(r, i * 15));
      child.disconnect();
      await exited;
      expect(await fuseMountsAt(mp)).toHaveLength(0);
    }
    expect(fs.readdirSync(env.poolDir)).toEqual([]);
  });

  it('close() stops idle premounted hosts: no process, mount or directory is left', async () => {
    const env = setup();
    const before = new Set(childHosts());
    const pool = new FsHostPool({ standby: 2, premountDir: env.poolDir });
    await until(async () => {
      const dirs = fs.readdirSync(env.poolDir);
      if (dirs.length !== 2) return false;
      for (const d of dirs)
        if ((await fuseMountsAt(path.join(env.poolDir, d))).length !== 1) return false;
      return true;
    });
    const hosts = childHosts().filter((p) => !before.has(p));
    expect(hosts).toHaveLength(2);
    await pool.close();
    expect(fs.readdirSync(env.poolDir)).toEqual([]);
    for (const pid of hosts) await until(() => !alive(pid));
  });
});
