// The cgroup layer's error class; `code` is a closed union, the message says what to fix.

export type CgroupErrorCode =
  'UNSUPPORTED' | 'CREATE_FAILED' | 'LIMIT_FAILED' | 'KILL_FAILED' | 'REMOVE_FAILED';

export class CgroupError extends Error {
  readonly code: CgroupErrorCode;

  constructor(code: CgroupErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CgroupError';
    this.code = code;
  }
}
