// Handlers that read metadata: getattr, readdir, readlink, access, statfs and xattrs.
import fs from 'node:fs';
import { levelAtLeast } from '@cordon/policy';
import { levelOf, requireOn, visible } from '../access.ts';
import { cacheFlags } from '../attr-cache.ts';
import type { FsContext } from '../context.ts';
import { E, Errno } from '../errno.ts';
import type { MergedEntry } from '../layers.ts';
import { confineLinkTarget, joinPath } from '../paths.ts';
import { answer, fuseStat, type Cb } from './common.ts';
import { listingKey, settled } from '../listings.ts';
import { packDirents } from './dirents.ts';

const DOT: MergedEntry = { name: '.', kind: 'dir' };
const DOTDOT: MergedEntry = { name: '..', kind: 'dir' };
const R_OK = 4;
const W_OK = 2;
const X_OK = 1;

/** lstat of a visible entry with its level; ENOENT for anything the sandbox must not see. */
export function lookup(
  ctx: FsContext,
  op: string,
  p: string,
): { st: fs.Stats; level: ReturnType<typeof levelOf> } {
  const level = levelOf(ctx, p);
  if (level === 'none' && p !== '/' && !ctx.policy.canTraverse(p)) {
    requireOn(ctx, op, p, 'view', () => ctx.layers.stat(p) !== null);
  }
  const found = ctx.layers.stat(p);
  if (!found) throw new Errno(E.ENOENT);
  if (!visible(ctx, p, level, found.st.isDirectory())) {
    requireOn(ctx, op, p, 'view', () => true);
  }
  return { st: found.st, level };
}

export function metaOps(ctx: FsContext) {
  return {
    // Asynchronous on purpose: a cold lookup waits for the disk, and tools that stat in parallel
    // (git's preload-index, find's workers) then overlap their waits on libuv's thread pool.
    getattr(p: string, cb: Cb): void {
      let level: ReturnType<typeof levelOf>;
      let abs: string;
      try {
        level = levelOf(ctx, p);
        if (level === 'none' && p !== '/' && !ctx.policy.canTraverse(p)) {
          requireOn(ctx, 'getattr', p, 'view', () => ctx.layers.stat(p) !== null);
        }
        const r = ctx.layers.resolve(p);
        if (r.layer === 'absent') throw new Errno(E.ENOENT);
        abs = r.abs;
        // Decided now, against the delta as it is now: the next getattr of `p` can be answered
        // natively until an operation that can re-resolve `p` forgets it (see attr-cache.ts).
        if (ctx.attrCache) {
          const flags = cacheFlags(
            p,
            level,
            // Shown only as a directory (reserved names never: visible() says so for any type).
            level === 'none' && visible(ctx, p, level, true),
            r.layer === 'upper' || ctx.layers.seen.has(p),
          );
          if (flags !== null) ctx.attrCache.set(p, abs, flags);
        }
      } catch (err) {
        answer(cb, () => {
          throw err;
        });
        return;
      }
      fs.lstat(abs, (err, st) => {
        answer(cb, () => {
          if (err) throw err;
          if (!visible(ctx, p, level, st.isDirectory()))
            requireOn(ctx, 'getattr', p, 'view', () => true);
          return [fuseStat(ctx, st, level)];
        });
      });
    },

    readdir(p: string, cb: Cb): void {
      answer(cb, () => {
        const { st } = lookup(ctx, 'readdir', p);
        if (!st.isDirectory()) throw new Errno(E.ENOTDIR);
        // Stat'ed before reading (see listings.ts), with the clock read before that.
        const now = Date.now();
        const dirs = ctx.layers
          .listingSources(p)
          .map((abs) => fs.lstatSync(abs, { throwIfNoEntry: false }));
        const key = listingKey(dirs);
        const cached = ctx.listings.get(p, key);
        if (cached) return [cached];
        const shown: MergedEntry[] = [DOT, DOTDOT];
        for (const e of ctx.layers.list(p)) {
          const child = joinPath(p, e.name);
          if (visible(ctx, child, levelOf(ctx, child), e.kind === 'dir')) shown.push(e);
        }
        // With types, `find` and friends skip a stat per entry; d_ino is not used by them.
        const packed = packDirents(shown);
        if (settled(dirs, now)) ctx.listings.set(p, key, packed);
        return [packed];
      });
    },

    readlink(p: string, cb: Cb): void {
      answer(cb, () => {
        const { st } = lookup(ctx, 'readlink', p);
        if (!st.isSymbolicLink()) throw new Errno(E.EINVAL);
        // A link's target is its content: following it needs read, like reading a file.
        requireOn(ctx, 'readlink', p, 'read', () => true);
        const r = ctx.layers.resolve(p);
        if (r.layer === 'absent') throw new Errno(E.ENOENT);
        return [confineLinkTarget(p, fs.readlinkSync(r.abs))];
      });
    },

    access(p: string, mode: number, cb: Cb): void {
      answer(cb, () => {
        const { st, level } = lookup(ctx, 'access', p);
        if (mode & W_OK) requireOn(ctx, 'access', p, 'write', () => true);
        if (!st.isDirectory()) {
          if (mode & (R_OK | X_OK)) requireOn(ctx, 'access', p, 'read', () => true);
          if (mode & X_OK && (st.mode & 0o111) === 0) throw new Errno(E.EACCES);
        }
        void level;
      });
    },

    statfs(_p: string, cb: Cb): void {
      answer(cb, () => {
        const s = fs.statfsSync(ctx.layers.delta.root);
        const bsize = s.bsize;
        const quotaBlocks = Math.floor(ctx.layers.quotaBytes / bsize);
        const freeBlocks = Math.max(
          0,
          Math.floor((ctx.layers.quotaBytes - ctx.layers.index.usedBytes) / bsize),
        );
        const clamp = (n: number): number => Math.min(n, 0xffffffff);
        return [
          {
            bsize,
            frsize: bsize,
            blocks: clamp(Math.min(quotaBlocks, s.blocks)),
            bfree: clamp(Math.min(freeBlocks, s.bfree)),
            bavail: clamp(Math.min(freeBlocks, s.bavail)),
            files: clamp(s.files),
            ffree: clamp(s.ffree),
            favail: clamp(s.ffree),
            fsid: 0,
            flag: 0,
            namemax: 255,
          },
        ];
      });
    },

    // No extended attributes are stored or exposed (security.* and system.* are answered as absent
    // by the patched addon). view: EACCES, as for any route to content.
    getxattr(p: string, _name: string, _position: number, cb: Cb): void {
      answer(cb, () => {
        lookup(ctx, 'getxattr', p);
        requireOn(ctx, 'getxattr', p, 'read', () => true);
        throw new Errno(E.ENODATA);
      });
    },

    listxattr(p: string, cb: Cb): void {
      answer(cb, () => {
        lookup(ctx, 'listxattr', p);
        requireOn(ctx, 'listxattr', p, 'read', () => true);
        return [[]];
      });
    },

    setxattr(
      p: string,
      _name: string,
      _value: Buffer,
      _position: number,
      _flags: number,
      cb: Cb,
    ): void {
      answer(cb, () => {
        const { level } = lookup(ctx, 'setxattr', p);
        if (!levelAtLeast(level, 'write')) requireOn(ctx, 'setxattr', p, 'write', () => true);
        throw new Errno(E.EOPNOTSUPP);
      });
    },

    removexattr(p: string, _name: string, cb: Cb): void {
      answer(cb, () => {
        lookup(ctx, 'removexattr', p);
        requireOn(ctx, 'removexattr', p, 'write', () => true);
        throw new Errno(E.ENODATA);
      });
    },
  };
}
