// Final records (destroyed sandboxes, deleted codebases) against a real redis-server: they expire
// after FINAL_RECORD_TTL_MS, leave the tenant's listing at once, and never hide older live ones.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FINAL_RECORD_TTL_MS, redisKeys, type SandboxRecord } from '@cordon/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listCodebases, putCodebase, transitionCodebase } from '../../src/state/codebases.ts';
import {
  getSandbox,
  listSandboxes,
  markSandboxDestroyed,
  putSandbox,
  transitionSandbox,
} from '../../src/state/sandboxes.ts';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.ts';

let dir: string;
let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cordon-gw-listing-'));
  server = await startRedisServer(dir);
  redis = new Redis({ path: server.path });
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

const sandbox = (id: string, createdAtMs: number): SandboxRecord => ({
  id,
  nodeId: 'n1',
  state: 'ready',
  policyHash: 'h',
  limits: {
    memoryBytes: 1 << 30,
    cpuMillicores: 1000,
    pids: 512,
    timeoutMs: null,
    outputBytes: 1 << 26,
  },
  network: 'none',
  strict: false,
  idleTimeoutMs: null,
  commit: 'always',
  commitMode: 'lww',
  quotaBytes: 1 << 30,
  codebaseId: 'cb_1',
  createdAtMs,
  error: null,
});

it('destroyed sandboxes leave the listing, expire later, and do not hide older live ones', async () => {
  const t = 'tenant-a';
  for (let i = 0; i < 3; i++) await putSandbox(redis, t, sandbox(`sb_live_${i}`, 1000 + i));
  await redis.rpush(redisKeys.sandboxCommits('sb_gone_0'), '{}');
  for (let i = 0; i < 5; i++) {
    await putSandbox(redis, t, sandbox(`sb_gone_${i}`, 2000 + i));
    expect(await markSandboxDestroyed(redis, `sb_gone_${i}`)).toBe(true);
  }
  expect(await transitionSandbox(redis, 'sb_live_2', 'ready', 'failed')).toBe(true);

  const listed = await listSandboxes(redis, t, 3);
  expect(listed.map((s) => s.id)).toEqual(['sb_live_2', 'sb_live_1', 'sb_live_0']);
  expect(await redis.zcard(redisKeys.tenantSandboxes(t))).toBe(3);
  // Still answerable for a while, then gone: the record and its commits expire.
  expect((await getSandbox(redis, t, 'sb_gone_0'))?.state).toBe('destroyed');
  for (const key of [redisKeys.sandbox('sb_gone_0'), redisKeys.sandboxCommits('sb_gone_0')]) {
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(FINAL_RECORD_TTL_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(FINAL_RECORD_TTL_MS);
  }
  // A failed one stays listed until its record expires; live ones never expire.
  expect(await redis.pttl(redisKeys.sandbox('sb_live_2'))).toBeGreaterThan(0);
  expect(await redis.pttl(redisKeys.sandbox('sb_live_1'))).toBe(-1);
  await redis.del(redisKeys.sandbox('sb_live_2'));
  expect((await listSandboxes(redis, t, 10)).map((s) => s.id)).toEqual(['sb_live_1', 'sb_live_0']);
  expect(await redis.zcard(redisKeys.tenantSandboxes(t))).toBe(2);
});

it('deleted codebases leave the listing and expire later', async () => {
  const t = 'tenant-b';
  const base = {
    nodeId: 'n1',
    state: 'ready' as const,
    source: 'empty' as const,
    path: null,
    name: null,
    scratch: false,
    uploadPath: null,
    error: null,
  };
  await putCodebase(redis, t, { ...base, id: 'cb_keep', createdAtMs: 1 });
  await putCodebase(redis, t, { ...base, id: 'cb_del', createdAtMs: 2 });
  expect(await transitionCodebase(redis, 'cb_del', '*', 'deleted')).toBe(true);
  expect((await listCodebases(redis, t, 1)).map((c) => c.id)).toEqual(['cb_keep']);
  expect(await redis.pttl(redisKeys.codebase('cb_del'))).toBeGreaterThan(0);
  expect(await redis.pttl(redisKeys.codebase('cb_keep'))).toBe(-1);
});
