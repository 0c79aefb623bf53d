import { hostname } from 'node:os';
import {
  BULL_PREFIX,
  logRedisErrors,
  NodeIdSchema,
  NodeJobSchema,
  nodeControlQueueName,
  nodeQueueName,
  redisKeys,
} from '@cordon/protocol';
import { Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { pino, type Logger } from 'pino';
import { WorkerError } from './errors.ts';
import { JobHandler } from './job-handler.ts';
import { NodeState } from './node-state.ts';
import { OutputLinks } from './output-link.ts';
import { recoverNode, type RecoveryReport } from './recovery.ts';
import { Registration } from './registry.ts';
import { NodeRuntime } from './runtime.ts';

export interface NodeWorkerOptions {
  readonly nodeId: string;
  readonly redis: RedisOptions;
  /** Shared secret for the gateways' cluster websocket and transfer endpoint. */
  readonly clusterToken: string;
  /** The node's data directory (codebases, sandboxes, commit journals). Required. */
  readonly dataDir: string;
  /**
   * Host directories accepted as `path` codebases (prefixes). Default none: uploads only. The
   * all-in-one local stack passes ['/'] (see product-decisions.md).
   */
  readonly allowPaths?: readonly string[];
  /** First sandbox uid; agents sharing a host need disjoint ranges. Default 2 000 000. */
  readonly uidBase?: number;
  /** Sandbox uids of this agent. Default 65 536. */
  readonly uidCount?: number;
  /** Execs run at once (BullMQ concurrency of the exec queue). Default 4. */
  readonly capacity?: number;
  /** Control jobs (codebases, sandbox create/destroy, sessions, transfers) at once. Default 4. */
  readonly controlConcurrency?: number;
  /** Pre-started fs hosts kept idle for new sandboxes. Default 2. */
  readonly fsHostStandby?: number;
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
  /**
   * Graceful stop: how long running execs may take to finish (the node still heartbeats, so
   * gateways keep waiting for them); those still running then fail with NODE_LOST. Default 30 s.
   */
  readonly drainMs?: number;
  readonly logger?: Logger;
}

export interface NodeWorker {
  readonly nodeId: string;
  /** What start-up recovery found and did. */
  readonly recovery: RecoveryReport;
  /** Execs running now. */
  load(): number;
  /**
   * Stops the worker. Graceful: take no new job, let running ones finish (at most `drainMs`),
   * deregister, unmount sandboxes (their files stay, so a restart recovers them). Not graceful:
   * drop everything at once, as a crash would.
   */
  close(opts?: { graceful?: boolean }): Promise<void>;
}

/**
 * The node agent: checks the host (fails closed), cleans stale mounts and recovers interrupted
 * commits under its data dir, registers and heartbeats, settles what a previous run left
 * (recovery.ts), then consumes its own BullMQ queues and streams output to the gateways.
 * FUSE servers run in their own processes (one per sandbox), never in this one.
 */
export async function startNodeWorker(o: NodeWorkerOptions): Promise<NodeWorker> {
  const nodeId = NodeIdSchema.parse(o.nodeId);
  const log = (o.logger ?? pino({ name: 'cordon-node' })).child({ nodeId });
  const capacity = o.capacity ?? 4;
  const redis = new Redis(o.redis);
  logRedisErrors(redis, log, 'state');
  const state = new NodeState(redis, nodeId, o.execTtlMs ?? 24 * 60 * 60 * 1000);
  const { runtime, recovered } = await NodeRuntime.open({
    nodeId,
    dataDir: o.dataDir,
    allowPaths: o.allowPaths ?? [],
    ...(o.uidBase === undefined ? {} : { uidBase: o.uidBase }),
    ...(o.uidCount === undefined ? {} : { uidCount: o.uidCount }),
    ...(o.fsHostStandby === undefined ? {} : { fsHostStandby: o.fsHostStandby }),
    onDenial: (spec, e) => {
      state
        .recordDenial(spec.tenantId, e)
        .catch((err: unknown) => log.warn({ err }, 'could not record a denial'));
    },
  }).catch((err: unknown) => {
    redis.disconnect();
    throw err;
  });
  if (recovered > 0) log.warn({ commits: recovered }, 'recovered interrupted commits');

  const sub = new Redis(o.redis);
  logRedisErrors(sub, log, 'cancel channel');
  // BullMQ workers block on their connection and must retry forever.
  const bullConnection = (): Redis => {
    const c = new Redis({ ...o.redis, maxRetriesPerRequest: null });
    logRedisErrors(c, log, 'queue');
    return c;
  };
  const links = new OutputLinks({
    nodeId,
    clusterToken: o.clusterToken,
    ...(o.linkWindowBytes === undefined ? {} : { windowBytes: o.linkWindowBytes }),
    log,
  });
  const handler = new JobHandler({
    state,
    runtime,
    links,
    clusterToken: o.clusterToken,
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
    allowPaths: runtime.codebases.allowPaths,
    heartbeatIntervalMs: o.heartbeatIntervalMs ?? 1_000,
    heartbeatTtlMs: o.heartbeatTtlMs ?? 5_000,
    load: () => handler.runningCount,
    log,
  });
  // Heartbeat first: while the previous run is settled and sandboxes re-mounted, janitors must
  // not mark them lost again. Jobs wait in the queues until the workers below start.
  await registration.register();
  const recovery = await recoverNode(state, runtime, log);
  log.info(recovery, 'start-up recovery done');

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
  handler.startIdleSweep();
  log.info({ capacity, allowPaths: runtime.codebases.allowPaths }, 'node worker up');

  return {
    nodeId,
    recovery,
    load: () => handler.runningCount,
    async close({ graceful = true } = {}) {
      if (graceful) {
        // Deregistering first would make gateways fail the running execs with NODE_LOST at once
        // while this agent still waited for them; they finish (bounded) instead, then it goes.
        const drainMs = o.drainMs ?? 30_000;
        const late = setTimeout(() => {
          log.warn({ drainMs, running: handler.runningCount }, 'drain timed out; stopping execs');
          handler.abortAll(
            new WorkerError(
              'NODE_LOST',
              `node ${nodeId} was stopped and the command did not finish within ${drainMs} ms; run it again`,
            ),
          );
        }, drainMs);
        try {
          await Promise.all([execWorker.close(false), ctlWorker.close(false)]);
        } finally {
          clearTimeout(late);
        }
        await registration.stop(true);
      } else {
        await registration.stop(false);
        handler.abortAll();
        await Promise.all([execWorker.close(true), ctlWorker.close(true)]);
      }
      links.close();
      await handler.close();
      await runtime.close();
      for (const c of [redis, sub, execConn, ctlConn]) c.disconnect();
    },
  };
}
