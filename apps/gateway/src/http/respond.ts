import type { ServerResponse } from 'node:http';
import type { ErrorCode, ErrorInfo } from '@cordon/protocol';

/** HTTP status of each Cordon code on the plain HTTP routes (same mapping tRPC uses). */
export const HTTP_STATUS_OF: Readonly<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RESOURCE_EXHAUSTED: 429,
  NODE_LOST: 503,
  TIMEOUT: 504,
  INTERNAL: 500,
};

/** `{ error: { code, message } }` with the mapped status; never a stack. */
export function sendError(res: ServerResponse, e: ErrorInfo): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res
    .writeHead(HTTP_STATUS_OF[e.code], { 'content-type': 'application/json' })
    .end(JSON.stringify({ error: e }));
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
