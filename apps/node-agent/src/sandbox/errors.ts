export type SandboxErrorCode = 'CLOSED' | 'MOUNT_UNHEALTHY' | 'COMMIT_FAILED' | 'INVALID_OPTIONS';

/** Errors of the sandbox layer (mount + runner + commit put together). Branch on `code`. */
export class SandboxError extends Error {
  override readonly name = 'SandboxError';
  readonly code: SandboxErrorCode;

  constructor(code: SandboxErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
