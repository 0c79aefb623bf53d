import { PolicyError } from '@cordon/policy';
import type { ErrorCode } from '@cordon/protocol';
import type { TRPCError } from '@trpc/server';
import { GatewayError, type FieldIssue } from './errors.ts';

/** What clients see in `error.data` (never a stack). */
export interface ErrorData {
  readonly cordonCode: ErrorCode;
  readonly issues: readonly FieldIssue[];
  readonly httpStatus: number;
  readonly path: string | null;
}

interface ZodLikeIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

function isZodLike(e: unknown): e is { issues: ZodLikeIssue[] } {
  return typeof e === 'object' && e !== null && Array.isArray((e as { issues?: unknown }).issues);
}

export function zodIssues(issues: readonly ZodLikeIssue[]): FieldIssue[] {
  return issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

export function policyIssues(e: PolicyError, prefix: string): FieldIssue[] {
  return e.issues.map((i) => ({
    path: [prefix, i.index !== undefined ? `rules.${i.index}` : '', i.field ?? '']
      .filter(Boolean)
      .join('.'),
    message: i.message,
  }));
}

/**
 * Normalises any error into the client-facing form. Unknown errors become INTERNAL with a fixed
 * message, so no internals (paths, stack lines, Redis replies) reach a client.
 */
export function describeError(error: TRPCError): {
  message: string;
  data: Omit<ErrorData, 'httpStatus' | 'path'>;
} {
  if (error instanceof GatewayError) {
    return { message: error.message, data: { cordonCode: error.cordonCode, issues: error.issues } };
  }
  const cause: unknown = error.cause;
  if (cause instanceof PolicyError) {
    const issues = policyIssues(cause, 'policy');
    return { message: cause.message, data: { cordonCode: 'BAD_REQUEST', issues } };
  }
  if (error.code === 'BAD_REQUEST' || error.code === 'PARSE_ERROR') {
    const issues = isZodLike(cause) ? zodIssues(cause.issues) : [];
    const message = issues.length
      ? issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')
      : error.message;
    return { message, data: { cordonCode: 'BAD_REQUEST', issues } };
  }
  switch (error.code) {
    case 'UNAUTHORIZED':
      return { message: error.message, data: { cordonCode: 'UNAUTHORIZED', issues: [] } };
    case 'FORBIDDEN':
      return { message: error.message, data: { cordonCode: 'FORBIDDEN', issues: [] } };
    case 'NOT_FOUND':
      return { message: error.message, data: { cordonCode: 'NOT_FOUND', issues: [] } };
    case 'METHOD_NOT_SUPPORTED':
    case 'UNSUPPORTED_MEDIA_TYPE':
    case 'PAYLOAD_TOO_LARGE':
      return { message: error.message, data: { cordonCode: 'BAD_REQUEST', issues: [] } };
    case 'TIMEOUT':
      return { message: error.message, data: { cordonCode: 'TIMEOUT', issues: [] } };
    default:
      return {
        message: 'internal error in the gateway; retry, and report it with the time if it persists',
        data: { cordonCode: 'INTERNAL', issues: [] },
      };
  }
}
