// The copy-on-write view: which real file backs a path (upper layer of the delta, else the source),
// and the disk operations that change the upper layer (copy-up, whiteouts, opaque directories).
// Synchronous on purpose: it only ever touches the source and delta directories, never the mount
// (mountSandboxFs refuses overlapping paths), and a sync lstat costs less than the hop to libuv's
// thread pool while the single JS thread serialises every request anyway.
import fs from 'node:fs';
import path from 'node:path';
import { deltaPaths, OPAQUE_MARKER, whiteoutName, type DeltaPaths } from '../delta/layout.ts';
import type { DeltaIndex, FileRec } from './delta-index.ts';
import { E, Errno } from './errno.ts';
import { baseName, joinPath, parentOf } from './paths.ts';
import type { SeenLog } from './seen.ts';

export type Resolved =
  | { readonly layer: 'upper'; readonly abs: string }
  | { readonly layer: 'lower'; readonly abs: string }
  | { readonly layer: 'absent' };

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

export interface MergedEntry {
  readonly name: string;
  /** From the dirent: 'dir' | 'file' | 'symlink' | 'other'. */
  readonly kind: 'dir' | 'file' | 'symlink' | 'other';
}

export class Layers {
  readonly source: string;
  readonly delta: DeltaPaths;
  index: DeltaIndex;
  readonly seen: SeenLog;
  readonly quotaBytes: number;
  /** Owner given to entries created in the delta (the codebase's owner). */
  readonly fileOwner: Owner | null;
  #tmpCounter = 0;

  constructor(opts: {
    source: string;
    deltaDir: string;
    index: DeltaIndex;
    seen: SeenLog;
    quotaBytes: number;
    fileOwner: Owner | null;
  }) {
    this.source = opts.source;
    this.delta = deltaPaths(opts.deltaDir);
    this.index = opts.index;
    this.seen = opts.seen;
    this.quotaBytes = opts.quotaBytes;
    this.fileOwner = opts.fileOwner;
  }

  upperAbs(p: string): string {
    return p === '/' ? this.delta.upper : this.delta.upper + p;
  }

  lowerAbs(p: string): string {
    return p === '/' ? this.source : this.source + p;
  }

  resolve(p: string): Resolved {
    if (p === '/') return { layer: 'lower', abs: this.source };
    if (this.index.entries.has(p)) return { layer: 'upper', abs: this.upperAbs(p) };
    if (this.index.lowerHidden(p)) return { layer: 'absent' };
    return { layer: 'lower', abs: this.lowerAbs(p) };
  }

  /** lstat of the entry the sandbox sees at `p`, or null. */
  stat(p: string): { st: fs.Stats; r: Resolved } | null {
    const r = this.resolve(p);
    if (r.layer === 'absent') return null;
    const st = fs.lstatSync(r.abs, { throwIfNoEntry: false });
    return st ? { st, r } : null;
  }

  /** The source entry at `p` if it shows through (not deleted or hidden by the delta). */
  lowerStat(p: string): fs.Stats | null {
    if (this.index.lowerHidden(p)) return null;
    return fs.lstatSync(this.lowerAbs(p), { throwIfNoEntry: false }) ?? null;
  }

  /** The real directories list(dir) reads, in order (see Listings). */
  listingSources(dir: string): string[] {
    const out: string[] = [];
    if (dir === '/' || this.index.entries.get(dir) === 'dir') out.push(this.upperAbs(dir));
    if (!this.index.opaque.has(dir) && !this.index.lowerHidden(dir)) out.push(this.lowerAbs(dir));
    return out;
  }

  /** Every entry of the merged directory, including ones the policy hides. */
  list(dir: string): MergedEntry[] {
    const out = new Map<string, MergedEntry>();
    if (dir === '/' || this.index.entries.get(dir) === 'dir') {
      for (const d of readdirTyped(this.upperAbs(dir))) {
        if (!d.name.startsWith('.cordon-')) out.set(d.name, d);
      }
    }
    if (!this.index.opaque.has(dir) && !this.index.lowerHidden(dir)) {
      for (const d of readdirTyped(this.lowerAbs(dir))) {
        if (out.has(d.name) || d.name.startsWith('.cordon-')) continue;
        if (this.index.whiteouts.has(joinPath(dir, d.name))) continue;
        out.set(d.name, d);
      }
    }
    return [...out.values()];
  }

  chownNew(abs: string, isLink = false): void {
    if (!this.fileOwner) return;
    if (isLink) fs.lchownSync(abs, this.fileOwner.uid, this.fileOwner.gid);
    else fs.chownSync(abs, this.fileOwner.uid, this.fileOwner.gid);
  }

  /** Makes `dir` and its ancestors exist in the upper layer, mirroring the source's modes. */
  ensureUpperDir(dir: string): void {
    if (dir === '/') return;
    const kind = this.index.entries.get(dir);
    if (kind === 'dir') return;
    if (kind !== undefined) throw new Errno(E.ENOTDIR);
    this.ensureUpperDir(parentOf(dir));
    const lower = this.lowerStat(dir);
    const abs = this.upperAbs(dir);
    fs.mkdirSync(abs, { mode: lower ? lower.mode & 0o7777 : 0o755 });
    if (lower) {
      fs.chmodSync(abs, lower.mode & 0o7777);
      fs.chownSync(abs, lower.uid, lower.gid);
    } else {
      this.chownNew(abs);
    }
    this.index.entries.set(dir, 'dir');
  }

  reserve(bytes: number): void {
    if (bytes > 0 && this.index.usedBytes + bytes > this.quotaBytes) throw new Errno(E.ENOSPC);
  }

  scratch(): string {
    return path.join(this.delta.work, `.cordon-tmp.${process.pid}.${++this.#tmpCounter}`);
  }

  /**
   * Copies the source entry at `from` into the upper layer at `to` (same path for a plain
   * copy-up) via the work directory and a rename, so a crash leaves either nothing or a whole
   * copy. `truncate`: the data is about to be discarded, copy only the metadata.
   */
  copyUp(from: string, to: string = from, truncate = false): FileRec | null {
    const lower = fs.lstatSync(this.lowerAbs(from));
    this.seen.record(from, this.lowerAbs(from));
    this.ensureUpperDir(parentOf(to));
    const tmp = this.scratch();
    let rec: FileRec | null = null;
    try {
      if (lower.isSymbolicLink()) {
        fs.symlinkSync(fs.readlinkSync(this.lowerAbs(from)), tmp);
        fs.lchownSync(tmp, lower.uid, lower.gid);
      } else if (lower.isFile()) {
        const size = truncate ? 0 : lower.size;
        this.reserve(size);
        if (truncate) fs.writeFileSync(tmp, '', { mode: lower.mode & 0o7777 });
        else fs.copyFileSync(this.lowerAbs(from), tmp);
        fs.chmodSync(tmp, lower.mode & 0o7777);
        fs.chownSync(tmp, lower.uid, lower.gid);
        fs.utimesSync(tmp, lower.atime, lower.mtime);
        rec = { size, links: 1 };
      } else {
        throw new Errno(lower.isDirectory() ? E.EISDIR : E.EPERM);
      }
      this.clearWhiteout(to);
      fs.renameSync(tmp, this.upperAbs(to));
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    if (this.index.entries.has(to)) this.index.removeEntry(to);
    if (rec) {
      this.index.entries.set(to, 'file');
      this.index.files.set(to, rec);
      this.index.usedBytes += rec.size;
    } else {
      this.index.entries.set(to, 'symlink');
    }
    return rec;
  }

  /** Brings the entry at `p` into the upper layer if it is still only in the source. */
  ensureUpper(p: string, truncate = false): string {
    const r = this.resolve(p);
    if (r.layer === 'absent') throw new Errno(E.ENOENT);
    if (r.layer === 'lower') {
      const st = fs.lstatSync(r.abs, { throwIfNoEntry: false });
      if (!st) throw new Errno(E.ENOENT);
      if (st.isDirectory()) this.ensureUpperDir(p);
      else this.copyUp(p, p, truncate);
    }
    return this.upperAbs(p);
  }

  addWhiteout(p: string): void {
    this.ensureUpperDir(parentOf(p));
    const marker = path.join(this.upperAbs(parentOf(p)), whiteoutName(baseName(p)));
    fs.writeFileSync(marker, '');
    this.index.whiteouts.add(p);
  }

  clearWhiteout(p: string): boolean {
    if (!this.index.whiteouts.has(p)) return false;
    fs.rmSync(path.join(this.upperAbs(parentOf(p)), whiteoutName(baseName(p))), { force: true });
    this.index.whiteouts.delete(p);
    return true;
  }

  setOpaque(dir: string): void {
    fs.writeFileSync(path.join(this.upperAbs(dir), OPAQUE_MARKER), '');
    this.index.opaque.add(dir);
  }

  /** Removes `p` from the sandbox's view: drops the upper entry, whiteouts a source entry. */
  remove(p: string, isDir: boolean): void {
    const lower = this.lowerStat(p);
    if (lower) this.seen.record(p, this.lowerAbs(p));
    if (this.index.entries.has(p)) {
      fs.rmSync(this.upperAbs(p), { recursive: isDir, force: true });
      if (isDir) this.index.removeTree(p);
      else this.index.removeEntry(p);
    }
    if (lower) this.addWhiteout(p);
  }
}

function readdirTyped(abs: string): MergedEntry[] {
  let dirents: fs.Dirent[];
  try {
    dirents = fs.readdirSync(abs, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
  return dirents.map((d) => ({
    name: d.name,
    kind: d.isDirectory() ? 'dir' : d.isFile() ? 'file' : d.isSymbolicLink() ? 'symlink' : 'other',
  }));
}
