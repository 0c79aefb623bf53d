// The directory listing format the patched fuse-native takes from readdir (patch level 2): one
// Buffer of entries, each a d_type byte, the name's bytes and a NUL. It replaces fuse-native's
// arrays of names and per-entry stat arrays, whose conversion cost more than the listing itself.
import type { MergedEntry } from '../layers.ts';

/** d_type values (dirent.h); the addon turns them back into st_mode type bits. */
const DT: Record<MergedEntry['kind'], number> = { dir: 4, file: 8, symlink: 10, other: 0 };

/** Packs `entries` (names never contain '/' or NUL: they come from real directories). */
export function packDirents(entries: readonly MergedEntry[]): Buffer {
  let size = 0;
  for (const e of entries) size += Buffer.byteLength(e.name) + 2;
  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  for (const e of entries) {
    buf[at++] = DT[e.kind];
    at += buf.write(e.name, at);
    buf[at++] = 0;
  }
  return buf;
}

/** The inverse, for tests. */
export function unpackDirents(buf: Buffer): MergedEntry[] {
  const kinds = new Map(Object.entries(DT).map(([k, v]) => [v, k as MergedEntry['kind']]));
  const out: MergedEntry[] = [];
  let at = 0;
  while (at < buf.length) {
    const end = buf.indexOf(0, at + 1);
    if (end < 0) throw new RangeError('unterminated entry');
    out.push({ kind: kinds.get(buf[at]!) ?? 'other', name: buf.toString('utf8', at + 1, end) });
    at = end + 1;
  }
  return out;
}
