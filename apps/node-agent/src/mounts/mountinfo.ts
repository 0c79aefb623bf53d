// /proc/self/mountinfo, parsed (proc(5)): the only way to learn about a FUSE mount without touching
// it — any stat of a hung FUSE mount blocks the caller (and a libuv worker thread) indefinitely.
import fs from 'node:fs/promises';
import path from 'node:path';

export const PROC_MOUNTINFO = '/proc/self/mountinfo';

export interface MountInfo {
  readonly mountId: number;
  readonly parentId: number;
  readonly major: number;
  /** For FUSE: the connection number under /sys/fs/fuse/connections. */
  readonly minor: number;
  readonly root: string;
  readonly mountPoint: string;
  readonly options: string;
  readonly fsType: string;
  readonly source: string;
  readonly superOptions: string;
}

/** The kernel escapes space, tab, newline and backslash in paths as \ooo octal. */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Lines that do not follow the format are skipped. */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (sep < 0 || fields.length < sep + 3) continue;
    const [id, parent, dev, root, mountPoint, options] = fields;
    const devMatch = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (id === undefined || parent === undefined || devMatch === null) continue;
    if (root === undefined || mountPoint === undefined || options === undefined) continue;
    out.push({
      mountId: Number(id),
      parentId: Number(parent),
      major: Number(devMatch[1]),
      minor: Number(devMatch[2]),
      root: unescapeMountField(root),
      mountPoint: unescapeMountField(mountPoint),
      options,
      fsType: fields[sep + 1] ?? '',
      source: unescapeMountField(fields[sep + 2] ?? ''),
      superOptions: fields[sep + 3] ?? '',
    });
  }
  return out;
}

export async function readMountInfo(file: string = PROC_MOUNTINFO): Promise<MountInfo[]> {
  return parseMountInfo(await fs.readFile(file, 'utf8'));
}

/** fuse, fuse.<subtype> and fuseblk. */
export function isFuseMount(m: MountInfo): boolean {
  return m.fsType === 'fuse' || m.fsType === 'fuseblk' || m.fsType.startsWith('fuse.');
}

/** `p` is strictly below `root` (both absolute, normalised; '/a/bc' is not below '/a/b'). */
export function isStrictlyUnder(p: string, root: string): boolean {
  const r = path.resolve(root);
  const q = path.resolve(p);
  return q !== r && q.startsWith(r === '/' ? '/' : `${r}/`);
}

/** Mounts at exactly `mountPoint`, the topmost (last mounted) last, as the kernel lists them. */
export function mountsAt(mounts: readonly MountInfo[], mountPoint: string): MountInfo[] {
  const target = path.resolve(mountPoint);
  return mounts.filter((m) => m.mountPoint === target);
}
