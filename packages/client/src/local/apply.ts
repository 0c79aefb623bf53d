import {
  mkdir,
  lstat,
  readFile,
  rm,
  symlink,
  writeFile,
  utimes,
  chmod,
  readlink,
} from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { LocalIoError } from '../errors.ts';
import type { PullResult } from '../types.ts';
import { walkLocal } from './walk.ts';

/** A tar entry name as a safe relative path, or null for names that could leave the root. */
export function safeRel(name: string): string | null {
  const rel = name.replace(/^\.?\/+/, '').replace(/\/+$/, '');
  if (rel === '' || rel.includes('\0')) return null;
  const parts = rel.split('/');
  if (parts.some((p) => p === '..' || p === '.' || p === '')) return null;
  if (parts[0] === '.git') return null;
  return rel;
}

/** Refuses to write through a symlinked parent directory (it could point outside the root). */
async function assertRealParents(root: string, rel: string): Promise<void> {
  const parts = rel.split('/').slice(0, -1);
  let cur = root;
  for (const p of parts) {
    cur = path.join(cur, p);
    const st = await lstat(cur).catch(() => null);
    if (st === null) return; // created below as a real directory
    if (!st.isDirectory()) {
      throw new LocalIoError(
        'LOCAL_IO',
        `cannot apply ${rel}: ${cur} is not a directory; move it away and pull again`,
      );
    }
  }
}

async function sameFile(abs: string, data: Buffer): Promise<boolean> {
  const st = await lstat(abs).catch(() => null);
  if (!st?.isFile() || st.size !== data.length) return false;
  return (await readFile(abs)).equals(data);
}

/**
 * Makes `root` match the codebase in `tarStream` (its export): writes files that differ, creates
 * directories and symlinks, then deletes local entries the codebase no longer has. Entries that
 * .gitignore ignores locally (and `.git/`) are never deleted, since they were never uploaded.
 */
export async function applyTar(
  root: string,
  tarStream: Readable | AsyncIterable<Buffer>,
  extraIgnore: readonly string[] = [],
): Promise<PullResult> {
  const extract = tar.extract();
  const seen = new Set<string>();
  let written = 0;
  const feed = pipeline(Readable.from(tarStream), extract);
  // The loop below consumes entries; if it throws, the pipeline's rejection must not go unhandled.
  feed.catch(() => undefined);
  for await (const entry of extract) {
    const h = entry.header;
    const rel = safeRel(h.name);
    if (rel === null) {
      entry.resume();
      continue;
    }
    seen.add(rel);
    const abs = path.join(root, rel);
    await assertRealParents(root, rel);
    switch (h.type) {
      case 'directory': {
        entry.resume();
        const st = await lstat(abs).catch(() => null);
        if (st && !st.isDirectory()) await rm(abs, { recursive: true, force: true });
        await mkdir(abs, { recursive: true });
        break;
      }
      case 'symlink': {
        entry.resume();
        const target = h.linkname ?? '';
        const cur = await readlink(abs).catch(() => null);
        if (cur !== target) {
          await rm(abs, { recursive: true, force: true });
          await mkdir(path.dirname(abs), { recursive: true });
          await symlink(target, abs);
          written++;
        }
        break;
      }
      case 'file':
      case 'contiguous-file': {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        const data = Buffer.concat(chunks);
        if (!(await sameFile(abs, data))) {
          const st = await lstat(abs).catch(() => null);
          if (st && !st.isFile()) await rm(abs, { recursive: true, force: true });
          await mkdir(path.dirname(abs), { recursive: true });
          await writeFile(abs, data);
          written++;
        }
        if (h.mode !== undefined) await chmod(abs, h.mode & 0o7777);
        if (h.mtime) await utimes(abs, h.mtime, h.mtime);
        break;
      }
      default:
        entry.resume();
    }
  }
  await feed;
  const stale: string[] = [];
  for await (const e of walkLocal(root, extraIgnore)) if (!seen.has(e.rel)) stale.push(e.rel);
  let deleted = 0;
  // Children before parents; a deleted directory takes its children with it.
  for (const rel of stale.sort().reverse()) {
    await rm(path.join(root, rel), { recursive: true, force: true });
    deleted++;
  }
  return { written, deleted };
}
