import type { ErrorCode, ErrorInfo } from '@cordon/protocol';

/**
 * The worker layer's only error type. Its code is one of the cluster-wide codes because it ends up
 * in an exec's or sandbox's recorded error, which clients read.
 */
export class WorkerError extends Error {
  override readonly name = 'WorkerError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }

  toInfo(): ErrorInfo {
    return { code: this.code, message: this.message };
  }
}

/** Any thrown value as a recordable error; unknown errors become INTERNAL without internals. */
export function errorInfoOf(err: unknown, what: string): ErrorInfo {
  if (err instanceof WorkerError) return err.toInfo();
  return { code: 'INTERNAL', message: `${what} failed on the node; see the node agent's logs` };
}
