// A source entry's identity as the committer compares it with seen.ndjson. The inode number is
// what makes this reliable: every Cordon commit replaces a file by renaming a new inode into place,
// and it preserves mtimes from the delta, so size + mtime alone could look unchanged.
import fs from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import type { Fingerprint } from './layout.ts';

export function fingerprintOf(stat: BigIntStats): Fingerprint {
  return { size: Number(stat.size), mtimeNs: stat.mtimeNs.toString(), ino: Number(stat.ino) };
}

/** Both absent (null) or the same size, mtime and inode. */
export function sameFingerprint(a: Fingerprint | null, b: Fingerprint | null): boolean {
  if (a === null || b === null) return a === b;
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ino === b.ino;
}

/** The fingerprint of `absPath` without following a final symlink; null when it does not exist. */
export async function currentFingerprint(absPath: string): Promise<Fingerprint | null> {
  try {
    return fingerprintOf(await fs.lstat(absPath, { bigint: true }));
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** ENOENT, or ENOTDIR (an ancestor is no longer a directory): the entry does not exist. */
export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
