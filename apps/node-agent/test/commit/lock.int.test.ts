// The cross-process commit lock: mutual exclusion, stale locks of killed holders (and of reused
// pids) are broken, a live holder is waited for up to the timeout.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { CommitError } from '../../src/commit/errors.ts';
import { acquireLock } from '../../src/commit/lock.ts';
import { makeTempDir } from './support.ts';

const cleanup: string[] = [];

afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function lockPath(): Promise<string> {
  const dir = await makeTempDir('lock');
  cleanup.push(dir);
  return path.join(dir, 'lock');
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn('true', { stdio: 'ignore' });
  await new Promise((resolve) => child.on('close', resolve));
  if (child.pid === undefined) throw new Error('spawn failed');
  return child.pid;
}

async function mutualExclusion(lock: string, workers: number): Promise<number> {
  let inside = 0;
  let maxInside = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      const held = await acquireLock(lock, { timeoutMs: 30_000 });
      inside += 1;
      maxInside = Math.max(maxInside, inside);
      await sleep(5);
      inside -= 1;
      await held.release();
    }),
  );
  return maxInside;
}

describe('commit lock', () => {
  it('admits one holder at a time and leaves nothing behind', async () => {
    const lock = await lockPath();
    expect(await mutualExclusion(lock, 8)).toBe(1);
    expect(await fs.readdir(path.dirname(lock))).toEqual([]);
  });

  it('breaks the lock of a holder killed with -9, also under contention', async () => {
    const lock = await lockPath();
    await fs.writeFile(
      lock,
      JSON.stringify({ pid: await deadPid(), startTime: null, token: 'dead' }),
    );
    expect(await mutualExclusion(lock, 6)).toBe(1);
    expect(await fs.readdir(path.dirname(lock))).toEqual([]);
  });

  it('treats a reused pid (same pid, other start time) as stale', async () => {
    const lock = await lockPath();
    await fs.writeFile(lock, JSON.stringify({ pid: process.pid, startTime: '1', token: 'old' }));
    const held = await acquireLock(lock, { timeoutMs: 5_000 });
    await held.assertHeld();
    await held.release();
  });

  it('waits for a live holder, then times out with LOCK_TIMEOUT', async () => {
    const lock = await lockPath();
    const first = await acquireLock(lock);
    const error = await acquireLock(lock, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommitError);
    expect((error as CommitError).code).toBe('LOCK_TIMEOUT');
    const waiting = acquireLock(lock, { timeoutMs: 10_000 });
    await sleep(50);
    await first.release();
    const second = await waiting;
    await second.assertHeld();
    await second.release();
  });

  it('an unreadable lock is respected while fresh and broken once old', async () => {
    const lock = await lockPath();
    await fs.writeFile(lock, 'garbage');
    const error = await acquireLock(lock, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect((error as CommitError).code).toBe('LOCK_TIMEOUT');
    const past = new Date(Date.now() - 60_000);
    await fs.utimes(lock, past, past);
    const held = await acquireLock(lock, { timeoutMs: 5_000 });
    await held.release();
  });

  it('assertHeld throws LOCK_LOST when the lock was taken away', async () => {
    const lock = await lockPath();
    const held = await acquireLock(lock);
    await fs.writeFile(
      lock,
      JSON.stringify({ pid: process.pid, startTime: null, token: 'someone-else' }),
    );
    const error = await held.assertHeld().catch((e: unknown) => e);
    expect((error as CommitError).code).toBe('LOCK_LOST');
    await held.release(); // not ours any more: left alone
    expect(await fs.readFile(lock, 'utf8')).toContain('someone-else');
  });
});
