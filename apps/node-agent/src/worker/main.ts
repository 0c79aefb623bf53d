// Entry point of a node worker process: `node apps/node-agent/src/worker/main.ts`, configured by
// environment variables (validated at start). Uses the INTERIM executor until the bwrap runner and
// FUSE mount are wired in.
import { pino } from 'pino';
import { z } from 'zod';
import { InterimExecutor } from './interim-executor.ts';
import { startNodeWorker } from './node-worker.ts';

const Env = z.object({
  CORDON_NODE_ID: z.string().min(1),
  CORDON_CLUSTER_TOKEN: z.string().min(16),
  CORDON_DATA_DIR: z.string().min(1),
  CORDON_REDIS_PATH: z.string().optional(),
  CORDON_REDIS_URL: z.string().optional(),
  CORDON_CAPACITY: z.coerce.number().int().min(1).default(4),
  CORDON_HEARTBEAT_MS: z.coerce.number().int().min(50).default(1_000),
  CORDON_HEARTBEAT_TTL_MS: z.coerce.number().int().min(100).default(5_000),
  CORDON_LOG_LEVEL: z.string().default('info'),
});

const parsed = Env.safeParse(process.env);
if (!parsed.success) {
  for (const i of parsed.error.issues) console.error(`${i.path.join('.')}: ${i.message}`);
  process.exit(2);
}
const env = parsed.data;
const redisUrl = env.CORDON_REDIS_URL ? new URL(env.CORDON_REDIS_URL) : null;
const redis = env.CORDON_REDIS_PATH
  ? { path: env.CORDON_REDIS_PATH }
  : { host: redisUrl?.hostname ?? '127.0.0.1', port: Number(redisUrl?.port || 6379) };

const worker = await startNodeWorker({
  nodeId: env.CORDON_NODE_ID,
  clusterToken: env.CORDON_CLUSTER_TOKEN,
  redis,
  capacity: env.CORDON_CAPACITY,
  heartbeatIntervalMs: env.CORDON_HEARTBEAT_MS,
  heartbeatTtlMs: env.CORDON_HEARTBEAT_TTL_MS,
  executor: new InterimExecutor({ dataDir: env.CORDON_DATA_DIR }),
  logger: pino({ name: 'cordon-node', level: env.CORDON_LOG_LEVEL }),
});
const stop = () => {
  worker.close({ graceful: true }).then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
// Tells a parent process (tests, `cordon up`) that the worker is registered.
process.send?.({ ready: true, nodeId: worker.nodeId });
