// The FUSE mount options Cordon passes itself (fuse-native's builder drops zero timeouts and knows
// neither big_writes nor negative_timeout), as a pure function of the tuning.
export interface FsTuning {
  /** Kernel attribute cache lifetime in seconds. Default 1. */
  readonly attrTimeoutSec: number;
  /** Kernel name→entry cache lifetime in seconds. Default 1. */
  readonly entryTimeoutSec: number;
  /** Kernel cache of "does not exist" answers in seconds. Default 1. */
  readonly negativeTimeoutSec: number;
  /** Largest read request in bytes (libfuse 2 caps it at 128 KiB). Default 131072. */
  readonly maxReadBytes: number;
  /** Kernel readahead window in bytes. Default 1 MiB. */
  readonly maxReadaheadBytes: number;
  /**
   * Serve read/flush/fsync, and release of read-only handles, on the FUSE threads (patched
   * fuse-native). Default true.
   */
  readonly nativeIo: boolean;
  /**
   * Answer getattr on the FUSE threads for paths whose resolution JavaScript has cached (patched
   * fuse-native, see attr-cache.ts). Default true.
   */
  readonly nativeAttrCache: boolean;
}

export const DEFAULT_TUNING: FsTuning = Object.freeze({
  attrTimeoutSec: 1,
  entryTimeoutSec: 1,
  negativeTimeoutSec: 1,
  maxReadBytes: 131072,
  maxReadaheadBytes: 1048576,
  nativeIo: true,
  nativeAttrCache: true,
});

/**
 * The `-o` argument. Deliberately absent: `default_permissions` (the policy, not mode bits, is the
 * permission model, enforced in the handlers) and `kernel_cache` (it would keep pages another
 * sandbox's commit made stale; `auto_cache` drops them when size or mtime changed).
 */
export function buildFuseOptions(fsName: string, tuning: FsTuning): string {
  const opts = [
    // The sandbox runs as an unprivileged uid; without allow_other it cannot even see the mount.
    'allow_other',
    // The fs host unmounts when it dies (fusermount watchdog): no "Transport endpoint is not
    // connected" mount points left behind.
    'auto_unmount',
    `fsname=${fsName.replace(/[^A-Za-z0-9_.:-]/g, '_')}`,
    'subtype=cordon',
    // Real inode numbers: git's index and hard-link detection (tar, du) rely on them.
    'use_ino',
    // An unlinked-but-open file must not be renamed to .fuse_hidden* in the delta.
    'hard_remove',
    'big_writes',
    `max_read=${tuning.maxReadBytes}`,
    `max_readahead=${tuning.maxReadaheadBytes}`,
    'auto_cache',
    `attr_timeout=${tuning.attrTimeoutSec}`,
    `entry_timeout=${tuning.entryTimeoutSec}`,
    `negative_timeout=${tuning.negativeTimeoutSec}`,
  ];
  if (tuning.nativeIo) opts.push('cordon_native_io');
  if (tuning.nativeAttrCache) opts.push('cordon_attr_cache');
  return '-o' + opts.join(',');
}
