// The fs host's in-memory picture of its delta's upper layer, so that resolving a path costs map
// lookups instead of syscalls. Only this process writes the delta while mounted; after a commit the
// committer clears it and the host rebuilds the index (resetDelta).
import type { UpperDir } from '../delta/scan.ts';
import { ancestorsOf, isWithin } from './paths.ts';

export type UpperKind = 'dir' | 'file' | 'symlink' | 'other';

/** Bytes a regular file in the upper layer occupies against the quota; shared by hard links. */
export interface FileRec {
  size: number;
  /** Names in the upper layer pointing at this file; quota is released when it drops to 0. */
  links: number;
}

export class DeltaIndex {
  readonly entries = new Map<string, UpperKind>();
  readonly files = new Map<string, FileRec>();
  readonly whiteouts = new Set<string>();
  readonly opaque = new Set<string>();
  usedBytes = 0;

  static fromScan(root: UpperDir | null): DeltaIndex {
    const index = new DeltaIndex();
    if (root === null) return index;
    const inodes = new Map<string, FileRec>();
    const walk = (dir: UpperDir): void => {
      if (dir.opaque && dir.path !== '/') index.opaque.add(dir.path);
      for (const w of dir.whiteouts)
        index.whiteouts.add(dir.path === '/' ? `/${w}` : `${dir.path}/${w}`);
      for (const child of dir.children) {
        index.entries.set(child.path, child.kind);
        if (child.kind === 'file') {
          // Hard links inside the delta share one record (same abs inode is not known here, so
          // each name counts once; conservative for the quota).
          const rec: FileRec = inodes.get(child.abs) ?? { size: child.size, links: 0 };
          rec.links++;
          if (rec.links === 1) index.usedBytes += rec.size;
          inodes.set(child.abs, rec);
          index.files.set(child.path, rec);
        }
        if (child.kind === 'dir') walk(child);
      }
    };
    walk(root);
    return index;
  }

  /**
   * True when the source's entry at `p` cannot show through: `p` or an ancestor was deleted
   * (whiteout), an ancestor is opaque, or an ancestor in the upper layer is not a directory.
   */
  lowerHidden(p: string): boolean {
    if (p === '/') return false;
    if (this.whiteouts.has(p)) return true;
    for (const a of ancestorsOf(p)) {
      if (this.whiteouts.has(a) || this.opaque.has(a)) return true;
      const k = this.entries.get(a);
      if (k !== undefined && k !== 'dir') return true;
    }
    return false;
  }

  addFile(p: string, size: number): FileRec {
    const rec: FileRec = { size, links: 1 };
    this.entries.set(p, 'file');
    this.files.set(p, rec);
    this.usedBytes += size;
    return rec;
  }

  linkFile(p: string, rec: FileRec): void {
    rec.links++;
    this.entries.set(p, 'file');
    this.files.set(p, rec);
  }

  /** Forgets one name; releases the file's bytes when it was the last one. */
  removeEntry(p: string): void {
    this.entries.delete(p);
    const rec = this.files.get(p);
    if (rec) {
      this.files.delete(p);
      rec.links--;
      if (rec.links <= 0) this.usedBytes -= rec.size;
    }
  }

  resize(rec: FileRec, size: number): void {
    if (rec.links > 0) this.usedBytes += size - rec.size;
    rec.size = size;
  }

  /** Forgets `dir` and everything below it (entries, whiteouts, opaque markers). */
  removeTree(dir: string): void {
    for (const p of [...this.entries.keys()]) if (isWithin(p, dir)) this.removeEntry(p);
    for (const p of [...this.whiteouts])
      if (p !== dir && isWithin(p, dir)) this.whiteouts.delete(p);
    for (const p of [...this.opaque]) if (isWithin(p, dir)) this.opaque.delete(p);
  }

  /** Renames every record at or below `from` to the same place below `to`. */
  moveTree(from: string, to: string): void {
    const move = (p: string): string => to + p.slice(from.length);
    for (const [p, k] of [...this.entries]) {
      if (!isWithin(p, from)) continue;
      this.entries.delete(p);
      this.entries.set(move(p), k);
      const rec = this.files.get(p);
      if (rec) {
        this.files.delete(p);
        this.files.set(move(p), rec);
      }
    }
    for (const p of [...this.whiteouts]) {
      if (p !== from && isWithin(p, from)) {
        this.whiteouts.delete(p);
        this.whiteouts.add(move(p));
      }
    }
    for (const p of [...this.opaque]) {
      if (isWithin(p, from)) {
        this.opaque.delete(p);
        this.opaque.add(move(p));
      }
    }
  }
}
