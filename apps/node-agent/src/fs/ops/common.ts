// Shared pieces of the FUSE handlers: the stat shape fuse-native expects and error answering.
import type fs from 'node:fs';
import type { Level } from '@cordon/policy';
import { cacheFlags } from '../attr-cache.ts';
import type { FsContext } from '../context.ts';
import { Errno, errnoOf } from '../errno.ts';

export interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  ino: number;
  rdev: number;
  blksize: number;
  blocks: number;
  atime: number;
  mtime: number;
  ctime: number;
}

export type Cb = (code: number, ...values: unknown[]) => void;

const S_IFDIR = 0o040000;
const S_IFMT = 0o170000;

/**
 * The attributes the sandbox sees: owned by the sandbox's uid/gid, and mode bits no more generous
 * than the level (no read bits on view files, no write bits below write), so tools that look
 * before they leap are told the truth.
 */
export function fuseStat(ctx: FsContext, st: fs.Stats, level: Level): FuseStat {
  let mode = st.mode;
  const isDir = (mode & S_IFMT) === S_IFDIR;
  if (level !== 'write') mode &= ~0o222;
  if (!isDir && (level === 'view' || level === 'none')) mode &= ~0o777;
  return {
    mode,
    uid: ctx.owner.uid,
    gid: ctx.owner.gid,
    size: st.size,
    nlink: st.nlink,
    ino: st.ino,
    rdev: st.rdev,
    blksize: st.blksize,
    blocks: st.blocks,
    atime: Math.floor(st.atimeMs),
    mtime: Math.floor(st.mtimeMs),
    ctime: Math.floor(st.ctimeMs),
  };
}

/**
 * `p` (write level) was just created or copied up in the delta: tell the native cache, so the
 * lookup libfuse makes right after create/mkdir/symlink, and later stats, skip JavaScript. Safe
 * to call after the operation: its invalidation ran before it, and nothing else ran in between.
 */
export function rememberWritten(ctx: FsContext, p: string): void {
  const flags = cacheFlags(p, 'write', false, true);
  if (ctx.attrCache && flags !== null) ctx.attrCache.set(p, ctx.layers.upperAbs(p), flags);
}

/** Runs a handler body and answers the kernel: its result on success, the errno on failure. */
export function answer(cb: Cb, body: () => unknown[] | void): void {
  let values: unknown[] | void;
  try {
    values = body();
  } catch (err) {
    cb(err instanceof Errno ? err.errno : errnoOf(err));
    return;
  }
  cb(0, ...(values ?? []));
}

/** For handlers whose first callback argument is the result itself (read, write: byte counts). */
export function answerCount(cb: (n: number) => void, body: () => number): void {
  let n: number;
  try {
    n = body();
  } catch (err) {
    cb(err instanceof Errno ? err.errno : errnoOf(err));
    return;
  }
  cb(n);
}
