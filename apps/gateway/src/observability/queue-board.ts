import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express from 'express';
import type { Redis } from 'ioredis';
import type { NodeQueues } from '../dispatch/queues.ts';
import { listNodes } from '../state/nodes.ts';

/** Bull Board is served under this path only (and only to admin tokens, checked by the caller). */
export const QUEUE_BOARD_PATH = '/admin/queues';

export interface QueueBoard {
  /** Serves a request under QUEUE_BOARD_PATH; the caller has checked the admin token. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/**
 * Bull Board over every node's exec and control queue. Nodes come and go, so the queue list is
 * refreshed from the registry on each request (cheap: one SMEMBERS plus a pipeline).
 */
export function createQueueBoard(redis: Redis, queues: NodeQueues): QueueBoard {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(QUEUE_BOARD_PATH);
  // @bull-board/express pins its own copy of @bull-board/api: same shape, distinct declarations.
  const serverAdapter = adapter as unknown as Parameters<
    typeof createBullBoard
  >[0]['serverAdapter'];
  const board = createBullBoard({ queues: [], serverAdapter });
  const app = express();
  app.disable('x-powered-by');
  app.use(QUEUE_BOARD_PATH, adapter.getRouter() as express.Router);
  return {
    async handle(req, res) {
      const nodes = await listNodes(redis);
      board.replaceQueues(
        nodes.flatMap((n) => [
          new BullMQAdapter(queues.execQueue(n.id), { readOnlyMode: false }),
          new BullMQAdapter(queues.controlQueue(n.id)),
        ]),
      );
      app(req, res);
    },
  };
}
