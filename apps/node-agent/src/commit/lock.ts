// A cross-process lock: a file created atomically with its content (write a private file, then
// link(2) it to the lock name, which fails with EEXIST while someone holds it). The content names
// the holder (pid + the process start time from /proc, so a reused pid is not mistaken for the
// holder); a lock whose holder is gone (killed with -9, a zombie) is stale and broken by the next
// acquirer. Breaking is serialised through a second O_EXCL file, and the staleness is re-checked
// inside it, so two acquirers that both saw the same stale lock cannot remove each other's fresh one.
// Assumes every committer of a codebase runs in the same pid namespace (one node agent per host).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isNotFound } from '../delta/fingerprint.ts';
import { CommitError } from './errors.ts';

export const DEFAULT_LOCK_TIMEOUT_MS = 120_000;
/** A lock or breaker file nobody could parse, or a breaker, older than this is abandoned. */
const ABANDONED_AFTER_MS = 10_000;
const MAX_POLL_MS = 200;

export interface LockOptions {
  /** Give up with LOCK_TIMEOUT after waiting this long for another holder. Default 120 000. */
  readonly timeoutMs?: number;
}

export interface HeldLock {
  readonly path: string;
  /** Throws LOCK_LOST unless the lock file still names this holder. */
  assertHeld(): Promise<void>;
  /** Removes the lock if this holder still owns it. */
  release(): Promise<void>;
}

interface LockOwner {
  readonly pid: number;
  readonly startTime: string | null;
  readonly token: string;
}

export async function acquireLock(lockPath: string, options: LockOptions = {}): Promise<HeldLock> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const token = randomBytes(8).toString('hex');
  const owner: LockOwner = {
    pid: process.pid,
    startTime: await processStartTime(process.pid),
    token,
  };
  const privateFile = `${lockPath}.${token}`;
  await fs.writeFile(privateFile, JSON.stringify(owner), { mode: 0o644, flag: 'wx' });
  const deadline = Date.now() + timeoutMs;
  let delayMs = 5;
  try {
    for (;;) {
      try {
        await fs.link(privateFile, lockPath);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (await isStale(lockPath)) {
        if (await breakIfStale(lockPath)) continue;
      }
      if (Date.now() >= deadline) {
        throw new CommitError(
          'LOCK_TIMEOUT',
          `another commit held ${lockPath} for more than ${timeoutMs} ms; retry later or raise lockTimeoutMs`,
        );
      }
      await sleep(delayMs + Math.random() * delayMs);
      delayMs = Math.min(delayMs * 2, MAX_POLL_MS);
    }
  } finally {
    await fs.rm(privateFile, { force: true });
  }
  await removeAbandonedPrivateFiles(lockPath);
  return {
    path: lockPath,
    async assertHeld() {
      const current = await readOwner(lockPath);
      if (current?.token !== token) {
        throw new CommitError(
          'LOCK_LOST',
          `the commit lock ${lockPath} was taken over while held; make sure all committers share one pid namespace`,
        );
      }
    },
    async release() {
      const current = await readOwner(lockPath);
      if (current?.token === token) await fs.rm(lockPath, { force: true });
    },
  };
}

/** The lock exists and its holder is gone (or its content is unreadable and old). */
async function isStale(lockPath: string): Promise<boolean> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, mtimeMs] = await Promise.all([
      fs.readFile(lockPath, 'utf8'),
      fs.lstat(lockPath).then((s) => s.mtimeMs),
    ]);
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  const owner = parseOwner(text);
  if (owner === null) return Date.now() - mtimeMs > ABANDONED_AFTER_MS;
  return !(await ownerAlive(owner));
}

/** Removes a stale lock under the breaker file; false when someone else is breaking it right now. */
async function breakIfStale(lockPath: string): Promise<boolean> {
  const breaker = `${lockPath}.breaking`;
  try {
    await fs.writeFile(breaker, String(process.pid), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const stat = await fs.lstat(breaker).catch(() => null);
    if (stat !== null && Date.now() - stat.mtimeMs > ABANDONED_AFTER_MS) {
      await fs.rm(breaker, { force: true });
    }
    return false;
  }
  try {
    // Inside the breaker nobody else can replace the lock: its holder is dead and link() fails
    // while it exists. It may have been released and re-taken before we got here, hence the re-check.
    if (await isStale(lockPath)) await fs.rm(lockPath, { force: true });
    return true;
  } finally {
    await fs.rm(breaker, { force: true });
  }
}

async function readOwner(lockPath: string): Promise<LockOwner | null> {
  try {
    return parseOwner(await fs.readFile(lockPath, 'utf8'));
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

function parseOwner(text: string): LockOwner | null {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (typeof value.pid !== 'number' || typeof value.token !== 'string') return null;
    const startTime = typeof value.startTime === 'string' ? value.startTime : null;
    return { pid: value.pid, startTime, token: value.token };
  } catch {
    return null;
  }
}

async function ownerAlive(owner: LockOwner): Promise<boolean> {
  let text: string;
  try {
    text = await fs.readFile(`/proc/${owner.pid}/stat`, 'utf8');
  } catch (err) {
    if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    return signalZeroAlive(owner.pid);
  }
  const info = parseProcStat(text);
  if (info === null) return signalZeroAlive(owner.pid);
  if (info.state === 'Z' || info.state === 'X' || info.state === 'x') return false;
  return owner.startTime === null || info.startTime === owner.startTime;
}

function signalZeroAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function processStartTime(pid: number): Promise<string | null> {
  try {
    return parseProcStat(await fs.readFile(`/proc/${pid}/stat`, 'utf8'))?.startTime ?? null;
  } catch {
    return null;
  }
}

/**
 * State (field 3) and start time (field 22, clock ticks since boot) from /proc/<pid>/stat. The
 * command name (field 2) is in parentheses and may itself contain spaces and parentheses, so the
 * fields are counted from the last ')'.
 */
export function parseProcStat(text: string): { state: string; startTime: string } | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 (state); field 22 is fields[19].
  const state = fields[0];
  const startTime = fields[19];
  if (state === undefined || startTime === undefined || !/^\d+$/.test(startTime)) return null;
  return { state, startTime };
}

/** Private files of acquirers killed between writing and removing them (their holder is gone). */
async function removeAbandonedPrivateFiles(lockPath: string): Promise<void> {
  const dir = path.dirname(lockPath);
  const prefix = `${path.basename(lockPath)}.`;
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((n) => n.startsWith(prefix) && /^[0-9a-f]{16}$/.test(n.slice(prefix.length)))
      .map(async (n) => {
        const file = path.join(dir, n);
        const owner = await readOwner(file).catch(() => null);
        if (owner !== null && !(await ownerAlive(owner))) await fs.rm(file, { force: true });
      }),
  );
}
