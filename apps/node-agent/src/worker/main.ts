// Entry point of a node agent process: `node apps/node-agent/src/worker/main.ts [--allow-path DIR]…`,
// configured by environment variables (validated at start; exit code 2 names the bad one).
// Host problems (not root, no bwrap, no FUSE, no writable cgroups…) stop it with exit code 3 and a
// message naming what is missing — it never runs commands unsandboxed.
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { redisConnectionFromEnv, RedisUrlSchema } from '@cordon/protocol';
import { pino } from 'pino';
import { z } from 'zod';
import { startNodeWorker } from './node-worker.ts';

const Env = z.object({
  CORDON_NODE_ID: z.string().min(1),
  CORDON_CLUSTER_TOKEN: z.string().min(16),
  CORDON_DATA_DIR: z.string().min(1),
  CORDON_REDIS_PATH: z.string().optional(),
  CORDON_REDIS_URL: RedisUrlSchema.optional(),
  CORDON_CAPACITY: z.coerce.number().int().min(1).default(4),
  CORDON_HEARTBEAT_MS: z.coerce.number().int().min(50).default(1_000),
  CORDON_HEARTBEAT_TTL_MS: z.coerce.number().int().min(100).default(5_000),
  /** ':'-separated host directories accepted as `path` codebases (added to --allow-path). */
  CORDON_ALLOW_PATHS: z.string().default(''),
  CORDON_UID_BASE: z.coerce.number().int().min(1000).optional(),
  CORDON_UID_COUNT: z.coerce.number().int().min(1).optional(),
  CORDON_LOG_LEVEL: z.string().default('info'),
  /** Pre-started fs hosts kept idle for new sandboxes (0: none). */
  CORDON_FS_HOST_STANDBY: z.coerce.number().int().min(0).max(16).optional(),
  /** On SIGTERM/SIGINT, how long running execs may take to finish before they fail NODE_LOST. */
  CORDON_DRAIN_MS: z.coerce.number().int().min(0).default(30_000),
});

// Streaming output allocates off-heap Buffers per chunk (pipe reads, websocket frames). By default
// V8 answers every few MiB of such external memory with a full mark-compact of the whole heap;
// with this flag external memory is paced with the heap by V8's global limit (as in the gateway's
// main.ts): node agent CPU for 512 MiB streamed 3.9 -> 1.3 s. Set before any exec starts.
setFlagsFromString('--external-memory-accounted-in-global-limit');

let flags: { 'allow-path'?: string[] };
try {
  flags = parseArgs({
    options: { 'allow-path': { type: 'string', multiple: true } },
    strict: true,
  }).values;
} catch (err) {
  console.error(`${(err as Error).message}; usage: main.ts [--allow-path DIR]...`);
  process.exit(2);
}
const parsed = Env.safeParse(process.env);
if (!parsed.success) {
  for (const i of parsed.error.issues) console.error(`${i.path.join('.')}: ${i.message}`);
  process.exit(2);
}
const env = parsed.data;
const allowPaths = [
  ...(flags['allow-path'] ?? []),
  ...env.CORDON_ALLOW_PATHS.split(':').filter(Boolean),
];
const badPath = allowPaths.find((p) => !p.startsWith('/'));
if (badPath !== undefined) {
  console.error(`--allow-path ${badPath}: must be an absolute directory`);
  process.exit(2);
}
const redis = redisConnectionFromEnv(env);

const log = pino({ name: 'cordon-node', level: env.CORDON_LOG_LEVEL });
let worker;
try {
  worker = await startNodeWorker({
    nodeId: env.CORDON_NODE_ID,
    clusterToken: env.CORDON_CLUSTER_TOKEN,
    redis,
    dataDir: env.CORDON_DATA_DIR,
    allowPaths,
    capacity: env.CORDON_CAPACITY,
    heartbeatIntervalMs: env.CORDON_HEARTBEAT_MS,
    heartbeatTtlMs: env.CORDON_HEARTBEAT_TTL_MS,
    ...(env.CORDON_UID_BASE === undefined ? {} : { uidBase: env.CORDON_UID_BASE }),
    ...(env.CORDON_UID_COUNT === undefined ? {} : { uidCount: env.CORDON_UID_COUNT }),
    drainMs: env.CORDON_DRAIN_MS,
    ...(env.CORDON_FS_HOST_STANDBY === undefined
      ? {}
      : { fsHostStandby: env.CORDON_FS_HOST_STANDBY }),
    logger: log,
  });
} catch (err) {
  console.error(`cordon node: ${(err as Error).message}`);
  process.exit(3);
}
const running = worker;
const stop = () => {
  running.close({ graceful: true }).then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
// Tells a parent process (tests, `cordon up`) that the worker is registered.
process.send?.({ ready: true, nodeId: running.nodeId, recovery: running.recovery });
