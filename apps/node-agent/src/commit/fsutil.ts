// Small filesystem helpers the commit protocol needs: durability (fsync of files and directories),
// existence without following symlinks, and recursive removal.
import fs from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { isNotFound } from '../delta/fingerprint.ts';

/** fsync a directory so entries created, renamed or removed in it survive a power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync each directory once; missing ones are skipped (they were renamed away or removed). */
export async function fsyncDirs(dirs: Iterable<string>): Promise<void> {
  await Promise.all(
    [...new Set(dirs)].map(async (dir) => {
      try {
        await fsyncDir(dir);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }),
  );
}

/** lstat, or null when the entry does not exist. */
export async function lstatOrNull(abs: string): Promise<BigIntStats | null> {
  try {
    return await fs.lstat(abs, { bigint: true });
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

export async function exists(abs: string): Promise<boolean> {
  return (await lstatOrNull(abs)) !== null;
}

/** rm -rf without following symlinks; a missing entry is fine. */
export async function removeTree(abs: string): Promise<void> {
  await fs.rm(abs, { recursive: true, force: true, maxRetries: 2 });
}

/** Write `data` to `file` and fsync it (the caller renames it into place and fsyncs the directory). */
export async function writeFileDurably(file: string, data: string): Promise<void> {
  const handle = await fs.open(file, 'w', 0o600);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * Runs `fn` over `items` with at most `limit` in flight, results in input order. Parallel fsyncs
 * let the filesystem batch them into few journal commits (sequential ones cost a commit each).
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
