// The node agent's own leftover FUSE mounts: everything FUSE strictly below its mount root, found
// from /proc/self/mountinfo (the mounts are never touched to find them). Mounts of anyone else,
// even FUSE ones, are outside the root and never returned.
import {
  isFuseMount,
  isStrictlyUnder,
  PROC_MOUNTINFO,
  readMountInfo,
  type MountInfo,
} from './mountinfo.ts';

export interface FindStaleMountsOptions {
  /** The directory under which this node agent creates its mount points (canonical, no symlinks). */
  readonly mountRoot: string;
  /** Default /proc/self/mountinfo. */
  readonly mountinfoPath?: string;
}

/** Deepest first, so nested mounts are removed before the mounts holding them. */
export async function findStaleMounts(options: FindStaleMountsOptions): Promise<MountInfo[]> {
  const mounts = await readMountInfo(options.mountinfoPath ?? PROC_MOUNTINFO);
  return selectStaleMounts(mounts, options.mountRoot);
}

/** Pure core of findStaleMounts. */
export function selectStaleMounts(mounts: readonly MountInfo[], mountRoot: string): MountInfo[] {
  return mounts
    .filter((m) => isFuseMount(m) && isStrictlyUnder(m.mountPoint, mountRoot))
    .sort((a, b) => depth(b.mountPoint) - depth(a.mountPoint) || b.mountId - a.mountId);
}

function depth(p: string): number {
  return p.split('/').length;
}
