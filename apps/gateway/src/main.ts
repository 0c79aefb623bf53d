// Entry point of a gateway process: `node apps/gateway/src/main.ts`, configured by environment
// variables (validated at start; exit code 2 names the bad one).
import { setFlagsFromString } from 'node:v8';
import { redisConnectionFromEnv, RedisUrlSchema } from '@cordon/protocol';
import { pino } from 'pino';
import { z } from 'zod';
import { startGateway } from './server.ts';

const Env = z.object({
  CORDON_CLUSTER_TOKEN: z.string().min(16),
  CORDON_ADMIN_TOKEN: z.string().min(16).optional(),
  CORDON_REDIS_PATH: z.string().optional(),
  CORDON_REDIS_URL: RedisUrlSchema.optional(),
  CORDON_HOST: z.string().default('127.0.0.1'),
  CORDON_PORT: z.coerce.number().int().min(0).max(65535).default(7420),
  CORDON_PUBLIC_CLUSTER_URL: z.url().optional(),
  CORDON_LOG_LEVEL: z.string().default('info'),
});

// Streaming output allocates ~2 off-heap Buffers per chunk (socket reads, Redis replies). By
// default V8 answers every few MiB of such external memory with a full mark-compact of the whole
// heap, which was half of the gateway's CPU while streaming (54 mark-compacts per 256 MiB
// streamed; 11 with this flag, gateway CPU −50 %). With it, external memory counts towards V8's
// global heap limit like heap memory: collections are paced by the total, so RSS settles at a
// higher but flat plateau (see docs/performance.md). Set before any stream starts.
setFlagsFromString('--external-memory-accounted-in-global-limit');

const parsed = Env.safeParse(process.env);
if (!parsed.success) {
  for (const i of parsed.error.issues) console.error(`${i.path.join('.')}: ${i.message}`);
  process.exit(2);
}
const env = parsed.data;
const redis = redisConnectionFromEnv(env);
const gw = await startGateway({
  redis,
  clusterToken: env.CORDON_CLUSTER_TOKEN,
  host: env.CORDON_HOST,
  port: env.CORDON_PORT,
  logger: pino({ name: 'cordon-gateway', level: env.CORDON_LOG_LEVEL }),
  ...(env.CORDON_ADMIN_TOKEN ? { adminToken: env.CORDON_ADMIN_TOKEN } : {}),
  ...(env.CORDON_PUBLIC_CLUSTER_URL ? { publicClusterUrl: env.CORDON_PUBLIC_CLUSTER_URL } : {}),
});
const stop = () => {
  gw.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.send?.({ ready: true, port: gw.port, httpUrl: gw.httpUrl, wsUrl: gw.wsUrl });
