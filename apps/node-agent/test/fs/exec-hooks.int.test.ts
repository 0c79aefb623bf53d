// prepareExec / afterExec (the per-exec hooks with at most one round trip to the fs host) and the
// pool of pre-started fs hosts: behaviour, not speed.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FsHostPool } from '../../src/fs/host/pool.ts';
import { cleanupAll, mountFixture } from './helpers.ts';

const POLICY = {
  preset: 'agent-safe' as const,
  rules: [{ pattern: '/**', permission: 'write' as const, priority: 50 }],
};

afterEach(cleanupAll);

describe('afterExec', () => {
  it('reports a clean delta until something is written, and keeps it for the commit', async () => {
    const f = await mountFixture(POLICY, { files: { 'a.txt': 'a' } });
    expect(await f.fs.afterExec({ commit: true })).toEqual({ clean: true });
    fs.writeFileSync(path.join(f.mnt, 'b.txt'), 'b');
    expect(await f.fs.afterExec({ commit: true })).toEqual({ clean: false });
    expect(fs.readFileSync(path.join(f.mnt, 'b.txt'), 'utf8')).toBe('b');
  });

  it('drops first-seen records of an otherwise empty delta only when a commit follows', async () => {
    const f = await mountFixture(POLICY, { files: { 'a.txt': 'a' } });
    expect(fs.readFileSync(path.join(f.mnt, 'a.txt'), 'utf8')).toBe('a');
    const seenFile = path.join(f.delta, 'seen.ndjson');
    expect(fs.readFileSync(seenFile, 'utf8')).toContain('/a.txt');
    expect(await f.fs.afterExec({ commit: false })).toEqual({ clean: false });
    expect(fs.readFileSync(seenFile, 'utf8')).toContain('/a.txt');
    expect(await f.fs.afterExec({ commit: true })).toEqual({ clean: true });
    expect(fs.readFileSync(seenFile, 'utf8')).toBe('');
    // Read again: recorded again (the native open cache forgot the path).
    expect(fs.readFileSync(path.join(f.mnt, 'a.txt'), 'utf8')).toBe('a');
    expect(fs.readFileSync(seenFile, 'utf8')).toContain('/a.txt');
  });

  it('flushes denials before answering', async () => {
    const f = await mountFixture(
      {
        preset: 'agent-safe',
        rules: [
          { pattern: '/**', permission: 'write', priority: 50 },
          { pattern: '/secret', permission: 'view', priority: 60 },
        ],
      },
      { files: { secret: 's' } },
    );
    expect(() => fs.readFileSync(path.join(f.mnt, 'secret'))).toThrow();
    await f.fs.afterExec({ commit: false });
    expect(f.fs.denials().some((d) => d.op === 'open' && d.path === '/secret')).toBe(true);
  });
});

describe('prepareExec', () => {
  it('answers healthy, remounts after an invalidation, and fails closed once the host is gone', async () => {
    const f = await mountFixture(POLICY, { files: { 'a.txt': 'a' } });
    expect((await f.fs.prepareExec()).ok).toBe(true);
    await f.fs.invalidate(['/a.txt']);
    const h = await f.fs.prepareExec();
    expect(h).toMatchObject({ ok: true, remounts: 1, pendingInvalidation: false });
    expect(fs.readFileSync(path.join(f.mnt, 'a.txt'), 'utf8')).toBe('a');
    // A session holds the mount: no remount, the invalidation stays pending.
    await f.fs.invalidate(['/a.txt']);
    expect((await f.fs.prepareExec({ remount: false })).ok).toBe(true);
    expect((await f.fs.health()).pendingInvalidation).toBe(true);
    process.kill(f.fs.pid, 'SIGKILL');
    await expect.poll(async () => (await f.fs.prepareExec()).ok, { timeout: 10_000 }).toBe(false);
  });
});

describe('FsHostPool', () => {
  const pools: FsHostPool[] = [];
  afterAll(async () => {
    for (const p of pools) await p.close();
  });

  it('hands out pre-started hosts that mount, refills, and stops its idle hosts on close', async () => {
    const pool = new FsHostPool({ standby: 1 });
    pools.push(pool);
    const f = await mountFixture(POLICY, { files: { 'a.txt': 'a' }, extra: { pool } });
    expect(fs.readFileSync(path.join(f.mnt, 'a.txt'), 'utf8')).toBe('a');
    const g = await mountFixture(POLICY, { files: { 'b.txt': 'b' }, extra: { pool } });
    expect(fs.readFileSync(path.join(g.mnt, 'b.txt'), 'utf8')).toBe('b');
    expect(g.fs.pid).not.toBe(f.fs.pid);
    await pool.close();
    // Mounted hosts belong to their mounts, not to the pool.
    expect((await f.fs.health()).ok).toBe(true);
  });
});
