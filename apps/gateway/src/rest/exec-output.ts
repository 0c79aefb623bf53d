import type { IncomingMessage, ServerResponse } from 'node:http';
import { ExecIdSchema, redisKeys } from '@cordon/protocol';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { bearerToken, lookupToken } from '../auth/tokens.ts';
import type { OutputObserver } from '../output/observer.ts';
import { readRawOutput, type RawOutputEvent } from '../output/reader.ts';
import type { SharedOutputReader } from '../output/shared-reader.ts';
import { httpSink } from '../output/sink.ts';
import { REST_PREFIX } from './derive.ts';

/** `GET /v1/execs/<id>/output`: exec output for clients without a tRPC websocket. */
export const EXEC_OUTPUT_ROUTE = new RegExp(`^${REST_PREFIX}/execs/([^/]+)/output$`);

export interface ExecOutputHttpOptions {
  readonly redis: Redis;
  /** The gateway's shared output reader. */
  readonly source: SharedOutputReader;
  readonly highWaterBytes: number;
  readonly batchEntries: number;
  readonly observer: OutputObserver;
  readonly log: Logger;
  /** Responses being streamed, so their buffered bytes can be reported. */
  readonly active: Set<ServerResponse>;
}

function fail(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ code, message }));
}

/**
 * Streams an exec's output over plain HTTP, read at the client's pace (the response's write
 * buffer is the backpressure signal):
 * - `text/event-stream` (default): one SSE event per output event, `id:` = seq, `event:` = kind,
 *   `data:` = the same JSON as the tRPC subscription (chunk bytes base64). Resume with the
 *   `Last-Event-ID` header or `?lastEventId=`.
 * - `?format=raw`: the chunk bytes only (`&stream=stdout|stderr` to pick one), and the outcome in
 *   the trailers `x-cordon-status` and `x-cordon-exit-code`.
 */
export async function serveExecOutput(
  o: ExecOutputHttpOptions,
  req: IncomingMessage,
  res: ServerResponse,
  rawExecId: string,
  url: URL,
): Promise<void> {
  const token = bearerToken(req.headers.authorization);
  const principal = token ? await lookupToken(o.redis, token) : null;
  if (!principal) {
    fail(
      res,
      401,
      'UNAUTHORIZED',
      'missing or unknown API token; send Authorization: Bearer <token>',
    );
    return;
  }
  const execId = ExecIdSchema.safeParse(decodeURIComponent(rawExecId));
  const owner = execId.success ? await o.redis.hget(redisKeys.exec(execId.data), 'tenantId') : null;
  if (!execId.success || owner !== principal.tenantId) {
    fail(res, 404, 'NOT_FOUND', `exec ${rawExecId} not found`);
    return;
  }
  const lastEventId = req.headers['last-event-id'] ?? url.searchParams.get('lastEventId') ?? '0';
  if (typeof lastEventId !== 'string' || !/^\d{1,15}$/.test(lastEventId)) {
    fail(res, 400, 'BAD_REQUEST', 'lastEventId must be a seq number as received');
    return;
  }
  const raw = url.searchParams.get('format') === 'raw';
  const only = url.searchParams.get('stream');
  if (only !== null && only !== 'stdout' && only !== 'stderr') {
    fail(res, 400, 'BAD_REQUEST', 'stream must be stdout or stderr');
    return;
  }

  const ac = new AbortController();
  res.on('close', () => ac.abort());
  o.active.add(res);
  res.writeHead(200, {
    'content-type': raw ? 'application/octet-stream' : 'text/event-stream',
    'cache-control': 'no-store',
    ...(raw ? { trailer: 'x-cordon-status, x-cordon-exit-code' } : {}),
  });
  const sink = httpSink(res);
  const id = execId.data;
  try {
    for await (const ev of readRawOutput({
      source: o.source,
      execId: id,
      afterSeq: Number(lastEventId),
      socket: sink,
      highWaterBytes: o.highWaterBytes,
      batchEntries: o.batchEntries,
      signal: ac.signal,
      stillExists: async () => (await o.redis.exists(redisKeys.exec(id))) === 1,
      observer: o.observer,
    })) {
      if (raw) writeRaw(res, ev, only);
      else res.write(sseEvent(ev));
    }
  } catch (err) {
    if (!ac.signal.aborted) o.log.warn({ err, execId: id }, 'exec output stream failed');
  } finally {
    o.active.delete(res);
    if (!res.writableEnded && !res.destroyed) res.end();
  }
}

function writeRaw(res: ServerResponse, ev: RawOutputEvent, only: string | null): void {
  if (ev.kind === 'chunk') {
    if (only === null || ev.stream === only) res.write(ev.data);
  } else if (ev.kind === 'end') {
    res.addTrailers({
      'x-cordon-status': ev.outcome.status,
      'x-cordon-exit-code': String(ev.outcome.result?.exitCode ?? ''),
    });
  }
}

function sseEvent(ev: RawOutputEvent): string {
  const json = ev.kind === 'chunk' ? { ...ev, data: ev.data.toString('base64') } : ev;
  return `id: ${ev.seq}\nevent: ${ev.kind}\ndata: ${JSON.stringify(json)}\n\n`;
}
