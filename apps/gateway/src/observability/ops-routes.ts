import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { NodeQueues } from '../dispatch/queues.ts';
import { checkAdmin } from './admin-auth.ts';
import { readiness } from './health.ts';
import type { GatewayMetrics } from './metrics.ts';
import { createQueueBoard, QUEUE_BOARD_PATH } from './queue-board.ts';

export interface OpsRoutesOptions {
  readonly redis: Redis;
  readonly queues: NodeQueues;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
  /** How long `/readyz` waits for Redis. Default 1 000 ms. */
  readonly readyTimeoutMs?: number;
}

/** Operator endpoints: `/healthz`, `/readyz`, `/metrics`, and Bull Board at `/admin/queues`. */
export interface OpsRoutes {
  /** Serves the request if it is one of these routes; false otherwise (caller continues). */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body) + '\n');
}

export function createOpsRoutes(o: OpsRoutesOptions): OpsRoutes {
  const board = createQueueBoard(o.redis, o.queues);
  const readyTimeoutMs = o.readyTimeoutMs ?? 1_000;
  const run = (res: ServerResponse, what: string, p: Promise<void>) => {
    p.catch((err: unknown) => {
      o.log.error({ err, what }, 'operator endpoint failed');
      if (!res.headersSent) json(res, 500, { code: 'INTERNAL', message: `${what} failed` });
      else res.destroy();
    });
  };
  return {
    handle(req, res, path) {
      if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return true;
      }
      if (path === '/readyz') {
        run(
          res,
          'readyz',
          readiness(o.redis, readyTimeoutMs).then((r) => json(res, r.ready ? 200 : 503, r)),
        );
        return true;
      }
      if (path === '/metrics') {
        run(
          res,
          'metrics',
          o.metrics.render().then(({ contentType, body }) => {
            res.writeHead(200, { 'content-type': contentType }).end(body);
          }),
        );
        return true;
      }
      if (path === QUEUE_BOARD_PATH || path.startsWith(`${QUEUE_BOARD_PATH}/`)) {
        run(
          res,
          'queue board',
          checkAdmin(o.redis, req).then(async (check) => {
            if (!check.ok) {
              res.writeHead(check.status, {
                'content-type': 'text/plain',
                ...(check.status === 401
                  ? { 'www-authenticate': 'Basic realm="cordon admin"' }
                  : {}),
              });
              res.end(check.message + '\n');
              return;
            }
            await board.handle(req, res);
          }),
        );
        return true;
      }
      return false;
    },
  };
}
