import { PolicyError } from '@cordon/policy';
import type { ErrorCode } from '@cordon/protocol';
import type { TRPCError } from '@trpc/server';
import type { Logger } from 'pino';
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
  readonly code?: string;
  /** zod's `unrecognized_keys` issue names the offending keys here; its path is their parent. */
  readonly keys?: readonly PropertyKey[];
}

function isZodLike(e: unknown): e is { issues: ZodLikeIssue[] } {
  return typeof e === 'object' && e !== null && Array.isArray((e as { issues?: unknown }).issues);
}

/**
 * Field issues from zod's. An unknown key becomes one issue per key whose path is the key itself
 * (zod reports it on the parent object, which at the top level is the empty path).
 */
export function zodIssues(issues: readonly ZodLikeIssue[]): FieldIssue[] {
  return issues.flatMap((i) => {
    const base = i.path.map(String);
    if (i.code === 'unrecognized_keys' && Array.isArray(i.keys) && i.keys.length > 0) {
      return i.keys.map((k) => ({
        path: [...base, String(k)].join('.'),
        message: "unknown field; remove it (see the procedure's input schema)",
      }));
    }
    return [{ path: base.join('.'), message: i.message }];
  });
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

/**
 * The adapters' onError: logs what clients only see as INTERNAL (with the cause and stack), and
 * nothing else — client mistakes are not the operator's errors.
 */
export function logInternalErrors(log: Logger) {
  return ({ error, path, type }: { error: TRPCError; path: string | undefined; type: string }) => {
    if (describeError(error).data.cordonCode !== 'INTERNAL') return;
    log.error({ err: error.cause ?? error, path, type }, 'internal error');
  };
}
