// Handlers on file contents: open, create, read, write, release, flush, fsync, (f)truncate.
// File handles are real descriptors of the backing file, so the patched addon serves read, flush
// and fsync on the FUSE threads; these JavaScript versions run only without native I/O.
import fs from 'node:fs';
import { requireCreate, requireOn } from '../access.ts';
import { cacheFlags } from '../attr-cache.ts';
import { UNTRACKED_FD, type FsContext, type Handle } from '../context.ts';
import { E, Errno } from '../errno.ts';
import { parentOf } from '../paths.ts';
import { answer, answerCount, rememberWritten, type Cb } from './common.ts';
import { lookup } from './meta.ts';

const { O_RDONLY, O_RDWR, O_TRUNC, O_CREAT, O_EXCL } = fs.constants;
const O_ACCMODE = 3;

function handleOf(ctx: FsContext, fd: number): Handle {
  const h = ctx.handles.get(fd);
  if (!h) throw new Errno(E.EBADF);
  return h;
}

/** Opens the upper copy of `p` for writing (copying it up first), accounting it for the quota. */
function openForWrite(ctx: FsContext, p: string, truncate: boolean): Handle {
  const { layers } = ctx;
  const abs = layers.ensureUpper(p, truncate);
  const rec = layers.index.files.get(p) ?? null;
  const fd = fs.openSync(abs, O_RDWR | (truncate ? O_TRUNC : 0));
  if (truncate && rec) layers.index.resize(rec, 0);
  const h: Handle = { fd, path: p, writable: true, rec, stale: false };
  ctx.handles.set(fd, h);
  rememberWritten(ctx, p);
  return h;
}

export function fileOps(ctx: FsContext) {
  const { layers } = ctx;
  return {
    open(p: string, flags: number, cb: Cb): void {
      answer(cb, () => {
        const { st, level } = lookup(ctx, 'open', p);
        if (st.isDirectory()) throw new Errno(E.EISDIR);
        const writing = (flags & O_ACCMODE) !== O_RDONLY || (flags & O_TRUNC) !== 0;
        requireOn(ctx, 'open', p, writing ? 'write' : 'read', () => true);
        if (writing) return [openForWrite(ctx, p, (flags & O_TRUNC) !== 0).fd];
        const r = layers.resolve(p);
        if (r.layer === 'absent') throw new Errno(E.ENOENT);
        if (r.layer === 'lower') layers.seen.record(p, r.abs);
        const fd = fs.openSync(r.abs, O_RDONLY);
        // Its first read is logged now: the next open of `p` for reading can be served natively.
        const bits = cacheFlags(p, level, false, true);
        if (ctx.attrCache && bits !== null) ctx.attrCache.set(p, r.abs, bits);
        // The addon reads, flushes and releases it on the FUSE threads: one round trip per open
        // instead of two. Nothing here needs it again (a read handle is never written to).
        if (ctx.nativeIo) return [fd | UNTRACKED_FD];
        ctx.handles.set(fd, { fd, path: p, writable: false, rec: null, stale: false });
        return [fd];
      });
    },

    create(p: string, mode: number, cb: Cb): void {
      answer(cb, () => {
        requireCreate(ctx, 'create', p);
        // The parent must be visible (the kernel looked it up) and must be a directory.
        lookup(ctx, 'create', parentOf(p));
        const existing = layers.stat(p);
        if (existing) {
          if (existing.st.isDirectory()) throw new Errno(E.EISDIR);
          return [openForWrite(ctx, p, false).fd];
        }
        layers.seen.record(p, layers.lowerAbs(p));
        layers.ensureUpperDir(parentOf(p));
        layers.clearWhiteout(p);
        const abs = layers.upperAbs(p);
        const fd = fs.openSync(abs, O_CREAT | O_EXCL | O_RDWR, mode & 0o7777);
        try {
          if (layers.fileOwner) fs.fchownSync(fd, layers.fileOwner.uid, layers.fileOwner.gid);
        } catch (err) {
          fs.closeSync(fd);
          throw err;
        }
        const rec = layers.index.addFile(p, 0);
        ctx.handles.set(fd, { fd, path: p, writable: true, rec, stale: false });
        rememberWritten(ctx, p);
        return [fd];
      });
    },

    read(
      _p: string,
      fd: number,
      buf: Buffer,
      len: number,
      pos: number,
      cb: (n: number) => void,
    ): void {
      answerCount(cb, () => fs.readSync(handleOf(ctx, fd).fd, buf, 0, len, pos));
    },

    write(
      _p: string,
      fd: number,
      buf: Buffer,
      len: number,
      pos: number,
      cb: (n: number) => void,
    ): void {
      answerCount(cb, () => {
        const h = handleOf(ctx, fd);
        if (!h.writable || h.stale) throw new Errno(E.EBADF);
        const end = pos + len;
        if (h.rec && end > h.rec.size) {
          layers.reserve(end - h.rec.size);
          const n = fs.writeSync(fd, buf, 0, len, pos);
          layers.index.resize(h.rec, Math.max(h.rec.size, pos + n));
          return n;
        }
        return fs.writeSync(fd, buf, 0, len, pos);
      });
    },

    release(_p: string, fd: number, cb: Cb): void {
      answer(cb, () => {
        if (ctx.handles.delete(fd)) fs.closeSync(fd);
      });
    },

    flush(_p: string, _fd: number, cb: Cb): void {
      cb(0);
    },

    fsync(_p: string, _datasync: number, fd: number, cb: Cb): void {
      answer(cb, () => fs.fsyncSync(handleOf(ctx, fd).fd));
    },

    truncate(p: string, size: number, cb: Cb): void {
      answer(cb, () => {
        const { st } = lookup(ctx, 'truncate', p);
        requireOn(ctx, 'truncate', p, 'write', () => true);
        if (st.isDirectory()) throw new Errno(E.EISDIR);
        const abs = layers.ensureUpper(p, size === 0);
        const rec = layers.index.files.get(p);
        if (rec && size > rec.size) layers.reserve(size - rec.size);
        fs.truncateSync(abs, size);
        if (rec) layers.index.resize(rec, size);
      });
    },

    ftruncate(p: string, fd: number, size: number, cb: Cb): void {
      answer(cb, () => {
        const h = handleOf(ctx, fd);
        if (!h.writable || h.stale) {
          requireOn(ctx, 'ftruncate', p, 'write', () => true);
          throw new Errno(E.EBADF);
        }
        if (h.rec && size > h.rec.size) layers.reserve(size - h.rec.size);
        fs.ftruncateSync(fd, size);
        if (h.rec) layers.index.resize(h.rec, size);
      });
    },
  };
}
