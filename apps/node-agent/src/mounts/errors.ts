// The mounts layer's one error class. Codes are a closed union; callers switch on `code`, never on
// the message (which says how to fix the problem).

export type MountErrorCode =
  /** The mount point holds a mount that is not FUSE: never ours to remove. */
  | 'NOT_FUSE'
  /** fusermount -u and umount -l both left the mount in place. */
  | 'UNMOUNT_FAILED'
  /** The FUSE connection is hung and /sys/fs/fuse/connections is not available to abort it. */
  | 'ABORT_UNAVAILABLE';

export class MountError extends Error {
  readonly code: MountErrorCode;

  constructor(code: MountErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MountError';
    this.code = code;
  }
}
