// The filesystem layer's one error class. Codes are a closed union; messages say how to fix.
export type FsErrorCode =
  | 'BAD_OPTIONS'
  | 'FUSE_UNPATCHED'
  | 'POLICY_MISMATCH'
  | 'MOUNT_FAILED'
  | 'HOST_CRASHED'
  | 'HOST_TIMEOUT'
  | 'NOT_MOUNTED'
  | 'BUSY';

export class FsError extends Error {
  readonly code: FsErrorCode;
  constructor(code: FsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FsError';
    this.code = code;
  }
}
