// The gateways cache known tokens briefly (no Redis round trip per request). A revocation must
// still be refused: at once on the gateway that revoked it, and on every other gateway without
// waiting for the cache's TTL (the done channel carries it). Two gateways on a real redis-server.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createToken,
  revokeToken,
  startGateway,
  type AppRouter,
  type Gateway,
} from '@cordon/gateway';
import { createTRPCClient, httpLink } from '@trpc/client';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenCache } from '../src/auth/tokens.ts';
import { expectCode } from './helpers/expect.ts';
import { startRedisServer, type RedisServer } from './helpers/redis-server.ts';

const CLUSTER_TOKEN = 'test-cluster-token-0123456789abcdef';
const ADMIN_TOKEN = 'cdn_test-admin-token-0123456789abcdef';
/** Far longer than the test: a refusal can only come from the revocation reaching the cache. */
const LONG_TTL_MS = 10 * 60_000;

let dir: string;
let redisServer: RedisServer;
let redis: Redis;
let a: Gateway;
let b: Gateway;

const client = (gw: Gateway, token: string) =>
  createTRPCClient<AppRouter>({
    links: [httpLink({ url: gw.httpUrl, headers: { authorization: `Bearer ${token}` } })],
  });

/** Polls until `p()` is refused with UNAUTHORIZED (a pub/sub message is asynchronous). */
async function refusedSoon(p: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await p().then(
      () => true,
      () => false,
    );
    if (!ok) break;
    await sleep(50);
  }
  await expectCode(p(), 'UNAUTHORIZED');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cordon-gw-auth-'));
  redisServer = await startRedisServer(dir);
  redis = new Redis({ path: redisServer.path });
  const start = () =>
    startGateway({
      redis: { path: redisServer.path },
      clusterToken: CLUSTER_TOKEN,
      adminToken: ADMIN_TOKEN,
      logger: pino({ level: 'silent' }),
      tokenCacheTtlMs: LONG_TTL_MS,
    });
  a = await start();
  b = await start();
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  redis?.disconnect();
  await redisServer?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('token cache', () => {
  it('refuses a token revoked through one gateway on that gateway at once and on the other', async () => {
    const made = await client(a, ADMIN_TOKEN).tokens.create.mutate({
      tenantId: 't1',
      scope: 'read',
    });
    // Both gateways have it cached now.
    await expect(client(a, made.token).nodes.list.query()).resolves.toBeInstanceOf(Array);
    await expect(client(b, made.token).nodes.list.query()).resolves.toBeInstanceOf(Array);

    expect(await client(a, ADMIN_TOKEN).tokens.revoke.mutate({ id: made.id })).toEqual({
      revoked: true,
    });
    await expectCode(client(a, made.token).nodes.list.query(), 'UNAUTHORIZED');
    await refusedSoon(() => client(b, made.token).nodes.list.query());
  });

  it('refuses a token revoked with revokeToken (no gateway involved) on every gateway', async () => {
    const token = await createToken(redis, { tenantId: 't2', scope: 'read' });
    await expect(client(a, token).nodes.list.query()).resolves.toBeInstanceOf(Array);
    await expect(client(b, token).nodes.list.query()).resolves.toBeInstanceOf(Array);
    expect(await revokeToken(redis, token)).toBe(true);
    await refusedSoon(() => client(a, token).nodes.list.query());
    await refusedSoon(() => client(b, token).nodes.list.query());
  });

  it('accepts a token created after an unknown-token lookup of the same value', async () => {
    const token = 'cdn_made-later-0123456789abcdef0123456789';
    await expectCode(client(a, token).nodes.list.query(), 'UNAUTHORIZED');
    await createToken(redis, { tenantId: 't3', scope: 'read', token });
    await expect(client(a, token).nodes.list.query()).resolves.toBeInstanceOf(Array);
  });

  it('does not keep what a lookup read if the token was forgotten meanwhile', async () => {
    const token = await createToken(redis, { tenantId: 't4', scope: 'read' });
    const cache = new TokenCache(redis, { ttlMs: LONG_TTL_MS });
    const lookup = cache.lookup(token);
    // The revocation lands while the lookup is in flight.
    cache.clear();
    await revokeToken(redis, token);
    expect(await lookup).toMatchObject({ tenantId: 't4' });
    expect(await cache.lookup(token)).toBeNull();
  });
});
