// Handlers that change the tree: unlink, mkdir, rmdir, rename, symlink, link, chmod, utimens, chown.
import fs from 'node:fs';
import { levelOf, refuse, requireCreate, requireOn, visible } from '../access.ts';
import type { FsContext } from '../context.ts';
import { E, Errno } from '../errno.ts';
import { isWithin, joinPath, parentOf } from '../paths.ts';
import { answer, rememberWritten, type Cb } from './common.ts';
import { lookup } from './meta.ts';

/** utimens values at or above this mean UTIME_OMIT (the patched addon sends UINT64_MAX). */
const OMIT_MS = 2 ** 53;

export function treeOps(ctx: FsContext) {
  const { layers } = ctx;

  /** A directory may be removed or replaced only when it is empty, hidden entries included. */
  const assertEmpty = (op: string, dir: string): void => {
    const entries = layers.list(dir);
    if (entries.length === 0) return;
    const anyVisible = entries.some((e) => {
      const child = joinPath(dir, e.name);
      return visible(ctx, child, levelOf(ctx, child), e.kind === 'dir');
    });
    // Removing a directory that holds entries the sandbox cannot see would delete them unseen.
    if (anyVisible) throw new Errno(E.ENOTEMPTY);
    throw refuse(ctx, op, dir, 'write', E.EACCES);
  };

  const parentDir = (op: string, p: string): void => {
    if (!lookup(ctx, op, parentOf(p)).st.isDirectory()) throw new Errno(E.ENOTDIR);
  };

  /**
   * Every entry below `src` (hidden ones included) must be writable where it is and where it is
   * going. Returns the bytes of source files a copy would need.
   */
  const checkSubtree = (src: string, dst: string): number => {
    let bytes = 0;
    for (const e of layers.list(src)) {
      const child = joinPath(src, e.name);
      const target = dst + child.slice(src.length);
      if (levelOf(ctx, child) !== 'write') throw refuse(ctx, 'rename', child, 'write', E.EACCES);
      if (levelOf(ctx, target) !== 'write') throw refuse(ctx, 'rename', target, 'write', E.EACCES);
      if (e.kind === 'dir') bytes += checkSubtree(child, target);
      else if (layers.resolve(child).layer === 'lower') bytes += layers.lowerStat(child)?.size ?? 0;
    }
    return bytes;
  };

  /** Builds the merged content of `src` as a new upper directory `dst` (overlayfs's copy-up). */
  const materialize = (src: string, dst: string): void => {
    const st = layers.stat(src);
    if (!st) throw new Errno(E.ENOENT);
    const abs = layers.upperAbs(dst);
    fs.mkdirSync(abs, { mode: st.st.mode & 0o7777 });
    fs.chmodSync(abs, st.st.mode & 0o7777);
    fs.chownSync(abs, st.st.uid, st.st.gid);
    layers.index.entries.set(dst, 'dir');
    for (const e of layers.list(src)) {
      const child = joinPath(src, e.name);
      const target = joinPath(dst, e.name);
      if (e.kind === 'dir') {
        materialize(child, target);
      } else if (layers.resolve(child).layer === 'upper') {
        fs.renameSync(layers.upperAbs(child), layers.upperAbs(target));
        layers.index.moveTree(child, target);
      } else {
        layers.copyUp(child, target);
      }
    }
  };

  const renameDir = (src: string, dst: string, dstExists: boolean): void => {
    const bytes = checkSubtree(src, dst);
    const pureUpper =
      layers.index.entries.get(src) === 'dir' &&
      (layers.index.opaque.has(src) || layers.lowerStat(src) === null);
    if (!pureUpper) layers.reserve(bytes);
    if (dstExists) layers.remove(dst, true);
    layers.seen.record(dst, layers.lowerAbs(dst));
    layers.ensureUpperDir(parentOf(dst));
    layers.clearWhiteout(dst);
    if (pureUpper) {
      fs.renameSync(layers.upperAbs(src), layers.upperAbs(dst));
      layers.index.moveTree(src, dst);
    } else {
      materialize(src, dst);
    }
    // The moved directory hides whatever the source has at its new place.
    layers.setOpaque(dst);
    layers.remove(src, true);
  };

  const renameFile = (src: string, dst: string): void => {
    layers.seen.record(dst, layers.lowerAbs(dst));
    layers.ensureUpperDir(parentOf(dst));
    if (layers.resolve(src).layer === 'upper') {
      layers.clearWhiteout(dst);
      fs.renameSync(layers.upperAbs(src), layers.upperAbs(dst));
      if (layers.index.entries.has(dst)) layers.index.removeEntry(dst);
      layers.index.moveTree(src, dst);
    } else {
      layers.copyUp(src, dst);
    }
    layers.remove(src, false);
  };

  return {
    unlink(p: string, cb: Cb): void {
      answer(cb, () => {
        const { st } = lookup(ctx, 'unlink', p);
        requireOn(ctx, 'unlink', p, 'write', () => true);
        if (st.isDirectory()) throw new Errno(E.EISDIR);
        layers.remove(p, false);
      });
    },

    rmdir(p: string, cb: Cb): void {
      answer(cb, () => {
        const { st } = lookup(ctx, 'rmdir', p);
        requireOn(ctx, 'rmdir', p, 'write', () => true);
        if (!st.isDirectory()) throw new Errno(E.ENOTDIR);
        if (p === '/') throw new Errno(E.EBUSY);
        assertEmpty('rmdir', p);
        layers.remove(p, true);
      });
    },

    mkdir(p: string, mode: number, cb: Cb): void {
      answer(cb, () => {
        requireCreate(ctx, 'mkdir', p);
        parentDir('mkdir', p);
        if (layers.stat(p)) throw new Errno(E.EEXIST);
        layers.seen.record(p, layers.lowerAbs(p));
        layers.ensureUpperDir(parentOf(p));
        const wasDeleted = layers.clearWhiteout(p);
        const abs = layers.upperAbs(p);
        fs.mkdirSync(abs, { mode: mode & 0o7777 });
        layers.chownNew(abs);
        layers.index.entries.set(p, 'dir');
        // Re-created after deletion: the source's old content must not show through.
        if (wasDeleted) layers.setOpaque(p);
        rememberWritten(ctx, p);
      });
    },

    symlink(target: string, p: string, cb: Cb): void {
      answer(cb, () => {
        requireCreate(ctx, 'symlink', p);
        parentDir('symlink', p);
        if (layers.stat(p)) throw new Errno(E.EEXIST);
        layers.seen.record(p, layers.lowerAbs(p));
        layers.ensureUpperDir(parentOf(p));
        layers.clearWhiteout(p);
        const abs = layers.upperAbs(p);
        fs.symlinkSync(target, abs);
        layers.chownNew(abs, true);
        layers.index.entries.set(p, 'symlink');
        rememberWritten(ctx, p);
      });
    },

    link(src: string, dst: string, cb: Cb): void {
      answer(cb, () => {
        const { st } = lookup(ctx, 'link', src);
        // A hard link is a second name for the same content: only for content already writable.
        requireOn(ctx, 'link', src, 'write', () => true);
        requireCreate(ctx, 'link', dst);
        if (st.isDirectory()) throw new Errno(E.EPERM);
        parentDir('link', dst);
        if (layers.stat(dst)) throw new Errno(E.EEXIST);
        layers.seen.record(dst, layers.lowerAbs(dst));
        layers.ensureUpper(src);
        layers.ensureUpperDir(parentOf(dst));
        layers.clearWhiteout(dst);
        fs.linkSync(layers.upperAbs(src), layers.upperAbs(dst));
        const rec = layers.index.files.get(src);
        if (rec) layers.index.linkFile(dst, rec);
        else layers.index.entries.set(dst, layers.index.entries.get(src) ?? 'file');
      });
    },

    rename(src: string, dst: string, cb: Cb): void {
      answer(cb, () => {
        if (src === dst) return;
        const { st } = lookup(ctx, 'rename', src);
        requireOn(ctx, 'rename', src, 'write', () => true);
        requireCreate(ctx, 'rename', dst);
        if (src === '/' || isWithin(dst, src)) throw new Errno(E.EINVAL);
        parentDir('rename', dst);
        const existing = layers.stat(dst);
        if (st.isDirectory()) {
          if (existing) {
            if (!existing.st.isDirectory()) throw new Errno(E.ENOTDIR);
            assertEmpty('rename', dst);
          }
          renameDir(src, dst, existing !== null);
        } else {
          if (existing?.st.isDirectory()) throw new Errno(E.EISDIR);
          renameFile(src, dst);
        }
      });
    },

    chmod(p: string, mode: number, cb: Cb): void {
      answer(cb, () => {
        lookup(ctx, 'chmod', p);
        requireOn(ctx, 'chmod', p, 'write', () => true);
        fs.chmodSync(layers.ensureUpper(p), mode & 0o7777);
      });
    },

    utimens(p: string, atime: number, mtime: number, cb: Cb): void {
      answer(cb, () => {
        lookup(ctx, 'utimens', p);
        requireOn(ctx, 'utimens', p, 'write', () => true);
        const abs = layers.ensureUpper(p);
        const cur = fs.lstatSync(abs);
        const a = atime >= OMIT_MS ? cur.atimeMs : atime;
        const m = mtime >= OMIT_MS ? cur.mtimeMs : mtime;
        fs.lutimesSync(abs, a / 1000, m / 1000);
      });
    },

    // Ownership is fixed: everything appears owned by the sandbox's user and files in the delta
    // belong to the codebase's owner. chown is accepted and ignored where writing is allowed.
    chown(p: string, _uid: number, _gid: number, cb: Cb): void {
      answer(cb, () => {
        lookup(ctx, 'chown', p);
        requireOn(ctx, 'chown', p, 'write', () => true);
      });
    },
  };
}
