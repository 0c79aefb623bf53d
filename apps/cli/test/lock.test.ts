import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquirePidLock } from '../src/stack/lock.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function lockFile(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'cordon-lock-'));
  dirs.push(d);
  return path.join(d, 'state', 'up.lock');
}

describe('acquirePidLock', () => {
  it('is taken once; a live holder is reported; release frees it', async () => {
    const file = await lockFile();
    const first = await acquirePidLock(file);
    expect('release' in first).toBe(true);
    expect(await readFile(file, 'utf8')).toBe(`${process.pid}\n`);
    // Another live process holds it: its PID is answered.
    await writeFile(file, `${process.ppid}\n`);
    expect(await acquirePidLock(file)).toEqual({ heldBy: process.ppid });
    await rm(file);
    const again = await acquirePidLock(file);
    if (!('release' in again)) throw new Error('expected the lock');
    await again.release();
    expect(await readFile(file, 'utf8').catch(() => 'gone')).toBe('gone');
  });

  it('takes over a lock whose process is gone', async () => {
    const file = await lockFile();
    await acquirePidLock(file).then((l) => ('release' in l ? l.release() : undefined));
    // A PID that surely exited: a finished child's.
    const dead = spawnSync('true').pid;
    await writeFile(file, `${dead}\n`);
    const l = await acquirePidLock(file);
    expect('release' in l).toBe(true);
    expect(await readFile(file, 'utf8')).toBe(`${process.pid}\n`);
  });
});
