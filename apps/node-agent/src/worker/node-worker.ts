import { hostname } from 'node:os';
import {
  BULL_PREFIX,
  NodeIdSchema,
  NodeJobSchema,
  nodeControlQueueName,
  nodeQueueName,
  redisKeys,
} from '@cordon/protocol';
import { Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { Executor } from './executor.ts';
import { JobHandler } from './job-handler.ts';
import { OutputLinks } from './output-link.ts';
import { Registration } from './registry.ts';

export interface NodeWorkerOptions {
  readonly nodeId: string;
  readonly redis: RedisOptions;
  /** Shared secret for the gateways' cluster websocket. */
  readonly clusterToken: string;
  readonly executor: Executor;
  /** Execs run at once (BullMQ concurrency of the exec queue). Default 4. */
  readonly capacity?: number;
  /** Sandbox create/destroy jobs handled at once. Default 4. */
  readonly controlConcurrency?: number;
  /** Reported in the registry. Default os.hostname(). */
  readonly host?: string;
  readonly version?: string;
  /** Default 1 000 ms. */
  readonly heartbeatIntervalMs?: number;
  /** Default 5 000 ms; gateways declare the node down this long after its last beat. */
  readonly heartbeatTtlMs?: number;
  /** TTL of exec records settled directly by the node. Default 24 h (match the gateway's). */
  readonly execTtlMs?: number;
  /** Default 10 000 ms. */
  readonly exitAckTimeoutMs?: number;
  /** Unacknowledged output bytes per gateway. Default 4 MiB. */
  readonly linkWindowBytes?: number;
  readonly logger?: Logger;
}

export interface NodeWorker {
  readonly nodeId: string;
  /** Execs running now. */
  load(): number;
  /**
   * Stops the worker. Graceful: finish running jobs, then deregister. Not graceful: drop everything
   * at once, as a crash would (the heartbeat just stops; used by tests).
   */
  close(opts?: { graceful?: boolean }): Promise<void>;
}

/**
 * The node agent's job consumer: registers and heartbeats, consumes its own BullMQ queues, runs
 * jobs through the Executor and streams output to the dispatching gateway over a websocket. Keep
 * FUSE servers out of this process: a stalled event loop here stalls lock renewal and heartbeats.
 */
export async function startNodeWorker(o: NodeWorkerOptions): Promise<NodeWorker> {
  const nodeId = NodeIdSchema.parse(o.nodeId);
  const log = (o.logger ?? pino({ name: 'cordon-node' })).child({ nodeId });
  const capacity = o.capacity ?? 4;
  const redis = new Redis(o.redis);
  const sub = new Redis(o.redis);
  // BullMQ workers block on their connection and must retry forever.
  const bullConnection = (): Redis => new Redis({ ...o.redis, maxRetriesPerRequest: null });
  const links = new OutputLinks({
    nodeId,
    clusterToken: o.clusterToken,
    ...(o.linkWindowBytes === undefined ? {} : { windowBytes: o.linkWindowBytes }),
    log,
  });
  const handler = new JobHandler({
    redis,
    nodeId,
    executor: o.executor,
    links,
    execTtlMs: o.execTtlMs ?? 24 * 60 * 60 * 1000,
    exitAckTimeoutMs: o.exitAckTimeoutMs ?? 10_000,
    log,
  });

  sub.on('message', (_channel: string, execId: string) => handler.cancel(execId));
  await sub.subscribe(redisKeys.nodeCancelChannel(nodeId));

  const registration = new Registration({
    redis,
    nodeId,
    host: o.host ?? hostname(),
    capacity,
    version: o.version ?? '0.1.0',
    heartbeatIntervalMs: o.heartbeatIntervalMs ?? 1_000,
    heartbeatTtlMs: o.heartbeatTtlMs ?? 5_000,
    load: () => handler.runningCount,
    log,
  });
  await registration.register();

  const processJob = async (job: Job): Promise<void> => {
    const parsed = NodeJobSchema.safeParse(job.data);
    if (!parsed.success) {
      log.error({ jobId: job.id, issues: parsed.error.issues }, 'malformed job; dropped');
      return;
    }
    await handler.handle(parsed.data);
  };
  // maxStalledCount 0: a job whose worker died is failed, never handed out again; the exec claim
  // in Redis is the second guard against running anything twice.
  const workerOpts = { prefix: BULL_PREFIX, maxStalledCount: 0 };
  const execConn = bullConnection();
  const ctlConn = bullConnection();
  const execWorker = new Worker(nodeQueueName(nodeId), processJob, {
    ...workerOpts,
    connection: execConn,
    concurrency: capacity,
  });
  const ctlWorker = new Worker(nodeControlQueueName(nodeId), processJob, {
    ...workerOpts,
    connection: ctlConn,
    concurrency: o.controlConcurrency ?? 4,
  });
  for (const w of [execWorker, ctlWorker]) {
    w.on('error', (err) => log.error({ err }, 'queue worker error'));
  }
  await Promise.all([execWorker.waitUntilReady(), ctlWorker.waitUntilReady()]);
  log.info({ capacity }, 'node worker up');

  return {
    nodeId,
    load: () => handler.runningCount,
    async close({ graceful = true } = {}) {
      await registration.stop(graceful);
      if (!graceful) handler.abortAll();
      await Promise.all([execWorker.close(!graceful), ctlWorker.close(!graceful)]);
      links.close();
      if (graceful) await o.executor.close();
      for (const c of [redis, sub, execConn, ctlConn]) c.disconnect();
    },
  };
}
