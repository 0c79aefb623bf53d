import type { ErrorCode, ErrorInfo } from '@cordon/protocol';
import { TRPCError } from '@trpc/server';

type TRPCCode = ConstructorParameters<typeof TRPCError>[0]['code'];

/** How each Cordon code surfaces in tRPC (and hence as an HTTP status). */
export const TRPC_CODE_OF: Readonly<Record<ErrorCode, TRPCCode>> = {
  BAD_REQUEST: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  RESOURCE_EXHAUSTED: 'TOO_MANY_REQUESTS',
  NODE_LOST: 'SERVICE_UNAVAILABLE',
  TIMEOUT: 'TIMEOUT',
  INTERNAL: 'INTERNAL_SERVER_ERROR',
};

/** One problem in a request, located by a dotted path such as `limits.memoryBytes`. */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * The gateway's only error type. It is a TRPCError, so tRPC keeps it as thrown and maps `code` onto
 * its own; clients read `data.cordonCode`. Messages say how to fix the problem.
 */
export class GatewayError extends TRPCError {
  override readonly name = 'GatewayError';
  readonly cordonCode: ErrorCode;
  readonly issues: readonly FieldIssue[];

  constructor(code: ErrorCode, message: string, issues: readonly FieldIssue[] = []) {
    super({ code: TRPC_CODE_OF[code], message });
    this.cordonCode = code;
    this.issues = issues;
  }

  static from(info: ErrorInfo): GatewayError {
    return new GatewayError(info.code, info.message);
  }
}

/** The NOT_FOUND answer for a missing id and for another tenant's id alike. */
export function notFound(kind: 'sandbox' | 'exec', id: string): GatewayError {
  return new GatewayError(
    'NOT_FOUND',
    `${kind} ${id} not found; list yours with ${kind === 'sandbox' ? 'sandboxes.list' : 'sandboxes.get'}`,
  );
}

export function badRequest(issues: readonly FieldIssue[]): GatewayError {
  const message = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  return new GatewayError('BAD_REQUEST', message || 'bad request', issues);
}
