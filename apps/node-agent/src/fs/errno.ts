// Negative errno values as FUSE handlers return them (Linux numbering).
export const E = {
  OK: 0,
  EPERM: -1,
  ENOENT: -2,
  EIO: -5,
  EBADF: -9,
  EACCES: -13,
  EBUSY: -16,
  EEXIST: -17,
  EXDEV: -18,
  ENOTDIR: -20,
  EISDIR: -21,
  EINVAL: -22,
  ENOSPC: -28,
  EROFS: -30,
  ENOSYS: -38,
  ENOTEMPTY: -39,
  ELOOP: -40,
  ENODATA: -61,
  EOPNOTSUPP: -95,
} as const;

/** A failed syscall's errno as a negative number for FUSE; EIO when it carries none. */
export function errnoOf(err: unknown): number {
  const n = (err as { errno?: unknown } | null)?.errno;
  if (typeof n === 'number' && n < 0) return n;
  if (typeof n === 'number' && n > 0) return -n;
  return E.EIO;
}

/** Thrown inside handlers to answer a request with a specific errno. */
export class Errno extends Error {
  readonly errno: number;
  constructor(errno: number) {
    super(`errno ${errno}`);
    this.errno = errno;
  }
}
