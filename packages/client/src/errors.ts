import { isErrorCode, type ErrorCode } from '@cordon/protocol';
import { TRPCClientError } from '@trpc/client';

/**
 * Every code a client error can carry: the gateway's closed union plus what only a client can
 * observe (the gateway cannot be reached; a local file operation of fromLocal/pull failed).
 */
export type CordonErrorCode = ErrorCode | 'UNAVAILABLE' | 'LOCAL_IO';

/** One problem in a request, located by a dotted path such as `limits.memoryBytes`. */
export interface CordonIssue {
  readonly path: string;
  readonly message: string;
}

/** The client's error. Branch on `code` (or the subclass), never on the message. */
export class CordonError extends Error {
  override readonly name: string = 'CordonError';
  readonly code: CordonErrorCode;
  readonly issues: readonly CordonIssue[];

  constructor(
    code: CordonErrorCode,
    message: string,
    opts: { issues?: readonly CordonIssue[]; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.issues = opts.issues ?? [];
  }
}

/** A request was malformed; `issues` names each bad field. */
export class BadRequestError extends CordonError {
  override readonly name: string = 'BadRequestError';
}
/** The policy (preset, rules) was rejected; `issues` names each bad rule. */
export class PolicyError extends BadRequestError {
  override readonly name: string = 'PolicyError';
}
export class UnauthorizedError extends CordonError {
  override readonly name: string = 'UnauthorizedError';
}
export class ForbiddenError extends CordonError {
  override readonly name: string = 'ForbiddenError';
}
export class NotFoundError extends CordonError {
  override readonly name: string = 'NotFoundError';
}
export class ConflictError extends CordonError {
  override readonly name: string = 'ConflictError';
}
export class ResourceExhaustedError extends CordonError {
  override readonly name: string = 'ResourceExhaustedError';
}
export class NodeLostError extends CordonError {
  override readonly name: string = 'NodeLostError';
}
/** A wait ran out (a call's deadline, not a command's own timeout: that is `result.timedOut`). */
export class TimeoutError extends CordonError {
  override readonly name: string = 'TimeoutError';
}
/** The gateway could not be reached or the connection broke beyond the retry budget. */
export class UnavailableError extends CordonError {
  override readonly name: string = 'UnavailableError';
}
/** A local file operation (reading the directory to upload, applying pulled changes) failed. */
export class LocalIoError extends CordonError {
  override readonly name: string = 'LocalIoError';
}
export class InternalError extends CordonError {
  override readonly name: string = 'InternalError';
}

/** Builds the subclass that matches `code`. */
export function cordonError(
  code: CordonErrorCode,
  message: string,
  opts: { issues?: readonly CordonIssue[]; cause?: unknown } = {},
): CordonError {
  switch (code) {
    case 'BAD_REQUEST':
      return (opts.issues ?? []).some((i) => /^policy(\.|$)|^preset$|^rules/.test(i.path))
        ? new PolicyError(code, message, opts)
        : new BadRequestError(code, message, opts);
    case 'UNAUTHORIZED':
      return new UnauthorizedError(code, message, opts);
    case 'FORBIDDEN':
      return new ForbiddenError(code, message, opts);
    case 'NOT_FOUND':
      return new NotFoundError(code, message, opts);
    case 'CONFLICT':
      return new ConflictError(code, message, opts);
    case 'RESOURCE_EXHAUSTED':
      return new ResourceExhaustedError(code, message, opts);
    case 'NODE_LOST':
      return new NodeLostError(code, message, opts);
    case 'TIMEOUT':
      return new TimeoutError(code, message, opts);
    case 'UNAVAILABLE':
      return new UnavailableError(code, message, opts);
    case 'LOCAL_IO':
      return new LocalIoError(code, message, opts);
    case 'INTERNAL':
      return new InternalError(code, message, opts);
  }
}

interface ErrorShapeData {
  readonly cordonCode?: unknown;
  readonly code?: unknown;
  readonly issues?: unknown;
}

function issuesOf(v: unknown): CordonIssue[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((i: unknown) => {
    const o = i as { path?: unknown; message?: unknown } | null;
    return o && typeof o.message === 'string'
      ? [{ path: typeof o.path === 'string' ? o.path : '', message: o.message }]
      : [];
  });
}

/**
 * Converts anything a tRPC call throws into a CordonError. `gatewayUrl` goes into messages about
 * connectivity, so the user sees which address failed.
 */
export function toCordonError(err: unknown, gatewayUrl: string): CordonError {
  if (err instanceof CordonError) return err;
  if (err instanceof TRPCClientError) {
    const data = (err as unknown as { data?: ErrorShapeData }).data;
    if (data && isErrorCode(data.cordonCode)) {
      return cordonError(data.cordonCode, err.message, {
        issues: issuesOf(data.issues),
        cause: err,
      });
    }
    // tRPC's own NOT_FOUND for an unknown procedure: an older gateway.
    if (data?.code === 'NOT_FOUND') {
      return new NotFoundError(
        'NOT_FOUND',
        `${err.message} (is the gateway older than this client?)`,
        {
          cause: err,
        },
      );
    }
    if (data?.code === 'UNAUTHORIZED') {
      return new UnauthorizedError('UNAUTHORIZED', err.message, { cause: err });
    }
    return new UnavailableError(
      'UNAVAILABLE',
      `cannot reach the Cordon gateway at ${gatewayUrl} (${err.message}); start one with \`cordon up\` or check the url`,
      { cause: err },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError('INTERNAL', message, { cause: err });
}
