// Empties a delta after a commit (its content is now in the codebase) or to discard it
// (`commit: 'never'`, a failed exec under 'on-success'). The mount must be quiescent (no exec
// running) and is told to reset its caches afterwards by its owner.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { isNotFound } from './fingerprint.ts';
import { deltaPaths } from './layout.ts';

/**
 * Atomically swaps `upper/` for an empty directory (same mode and owner), truncates seen.ndjson in
 * place (the fs host may hold it open for appending) and empties `work/`. A crash mid-way leaves
 * either the old upper or an empty one — never part of it — though `upper/` may be briefly missing,
 * which readers treat as an empty delta. Missing delta directories are not an error.
 */
export async function clearDelta(deltaDir: string): Promise<void> {
  const paths = deltaPaths(deltaDir);
  try {
    await fs.lstat(paths.root);
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  await fs.mkdir(paths.work, { recursive: true });
  const tag = randomBytes(6).toString('hex');
  const fresh = path.join(paths.work, `.cordon-fresh.${tag}`);
  const discarded = path.join(paths.work, `.cordon-discard.${tag}`);
  await fs.mkdir(fresh, { mode: 0o755 });
  try {
    const old = await fs.lstat(paths.upper);
    await fs.chmod(fresh, old.mode & 0o7777);
    if (process.getuid?.() === 0) await fs.lchown(fresh, old.uid, old.gid);
    await fs.rename(paths.upper, discarded);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  await fs.rename(fresh, paths.upper);
  try {
    await fs.truncate(paths.seen, 0);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  // All of work/ is scratch: the discarded upper and any copy-up an interrupted exec left behind.
  const leftovers = await fs.readdir(paths.work);
  await Promise.all(
    leftovers.map((name) =>
      fs.rm(path.join(paths.work, name), { recursive: true, force: true, maxRetries: 2 }),
    ),
  );
}

/** Drops a sandbox's uncommitted changes. */
export async function discardDelta(deltaDir: string): Promise<void> {
  await clearDelta(deltaDir);
}
