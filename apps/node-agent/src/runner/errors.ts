// The runner layer's one error class. Codes are a closed union; callers switch on `code`, never on
// the message (which says how to fix the problem).

export type RunnerErrorCode =
  | 'INVALID_SPEC'
  | 'INVALID_REQUEST'
  | 'HOST_UNSUPPORTED'
  | 'CGROUP_FAILED'
  | 'SPAWN_FAILED'
  | 'SECCOMP_UNSUPPORTED_ARCH';

export class RunnerError extends Error {
  readonly code: RunnerErrorCode;

  constructor(code: RunnerErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RunnerError';
    this.code = code;
  }
}
