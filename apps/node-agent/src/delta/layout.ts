// The on-disk layout of a sandbox's copy-on-write delta. Shared by the filesystem host (which
// writes it while the agent works) and the committer (which applies it to the codebase).
//
//   <deltaDir>/upper/...                  changed entries, mirroring codebase paths
//   <deltaDir>/upper/<dir>/.cordon-wh.<n> whiteout: <dir>/<n> was deleted (empty regular file)
//   <deltaDir>/upper/<dir>/.cordon-opaque <dir> hides everything below it in the source
//                                         (it was deleted and re-created, as overlayfs's opaque dirs)
//   <deltaDir>/work/                      scratch space on the same filesystem, for copy-up + rename
//   <deltaDir>/seen.ndjson                first-seen source fingerprints, one JSON object a line:
//                                         { "path": "/a/b", "fp": { "size", "mtimeNs", "ino" } | null }
//                                         (null: the path did not exist in the source when first seen).
//                                         The committer reports a conflict where the source changed since.
//
// Names with the reserved prefix are never shown inside the mount and cannot be created there.
import path from 'node:path';

export const WHITEOUT_PREFIX = '.cordon-wh.';
export const OPAQUE_MARKER = '.cordon-opaque';
export const RESERVED_PREFIX = '.cordon-';

export interface DeltaPaths {
  readonly root: string;
  readonly upper: string;
  readonly work: string;
  readonly seen: string;
}

export function deltaPaths(deltaDir: string): DeltaPaths {
  return {
    root: deltaDir,
    upper: path.join(deltaDir, 'upper'),
    work: path.join(deltaDir, 'work'),
    seen: path.join(deltaDir, 'seen.ndjson'),
  };
}

/** True for names the delta uses for its own bookkeeping; the mount hides and refuses them. */
export function isReservedName(name: string): boolean {
  return name.startsWith(RESERVED_PREFIX);
}

export function whiteoutName(name: string): string {
  return WHITEOUT_PREFIX + name;
}

/** The deleted entry's name if `name` is a whiteout, else null. */
export function whiteoutTarget(name: string): string | null {
  return name.startsWith(WHITEOUT_PREFIX) ? name.slice(WHITEOUT_PREFIX.length) : null;
}

/** A source file's identity as first seen, to detect that another commit changed it since. */
export interface Fingerprint {
  readonly size: number;
  readonly mtimeNs: string;
  readonly ino: number;
}

export interface SeenRecord {
  readonly path: string;
  readonly fp: Fingerprint | null;
}
