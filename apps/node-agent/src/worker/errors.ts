import type { ErrorCode, ErrorInfo } from '@cordon/protocol';
import { CodebaseError } from '../codebase/index.ts';
import { RunnerError } from '../runner/index.ts';
import { SandboxError } from '../sandbox/index.ts';
import { SessionError } from '../session/index.ts';

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

/** The cluster code of a lower layer's error (their messages already say how to fix it). Pure. */
function codeOf(err: unknown): ErrorCode | null {
  if (err instanceof WorkerError) return err.code;
  if (err instanceof SandboxError) {
    switch (err.code) {
      case 'CLOSED':
        return 'CONFLICT';
      case 'INVALID_OPTIONS':
        return 'BAD_REQUEST';
      case 'MOUNT_UNHEALTHY':
      case 'COMMIT_FAILED':
        return 'INTERNAL';
    }
  }
  if (err instanceof RunnerError) {
    switch (err.code) {
      case 'INVALID_SPEC':
      case 'INVALID_REQUEST':
      case 'SECCOMP_UNSUPPORTED_ARCH':
        return 'BAD_REQUEST';
      case 'HOST_UNSUPPORTED':
      case 'CGROUP_FAILED':
      case 'SPAWN_FAILED':
        return 'INTERNAL';
    }
  }
  if (err instanceof SessionError) {
    switch (err.code) {
      case 'INVALID_REQUEST':
      case 'WRONG_MODE':
        return 'BAD_REQUEST';
      case 'SESSION_CLOSED':
        return 'CONFLICT';
      case 'START_FAILED':
      case 'PROTOCOL_ERROR':
        return 'INTERNAL';
    }
  }
  if (err instanceof CodebaseError) {
    switch (err.code) {
      case 'NOT_FOUND':
        return 'NOT_FOUND';
      case 'PATH_NOT_ALLOWED':
        return 'FORBIDDEN';
      case 'TOO_LARGE':
        return 'RESOURCE_EXHAUSTED';
      case 'EXISTS':
        return 'CONFLICT';
      case 'PATH_INVALID':
      case 'BAD_ARCHIVE':
        return 'BAD_REQUEST';
    }
  }
  return null;
}

/** Any thrown value as a recordable error; unknown errors become INTERNAL without internals. */
export function errorInfoOf(err: unknown, what: string): ErrorInfo {
  const code = codeOf(err);
  if (code !== null) return { code, message: (err as Error).message.slice(0, 4000) };
  return { code: 'INTERNAL', message: `${what} failed on the node; see the node agent's logs` };
}
