// Final records (destroyed sandboxes, deleted codebases) against a real redis-server: they expire
// after FINAL_RECORD_TTL_MS, and expired ids leave the tenant's index as listings meet them.
import { FINAL_RECORD_TTL_MS, redisKeys, type SandboxRecord } from '@cordon/protocol';
import { expect, it } from 'vitest';
import { listCodebases, putCodebase, transitionCodebase } from '../../src/state/codebases.ts';
import {
  getSandbox,
  listSandboxes,
  markSandboxDestroyed,
  putSandbox,
  transitionSandbox,
} from '../../src/state/sandboxes.ts';
import { useRedisServer } from '../helpers/redis-server.ts';

const r = useRedisServer('cordon-gw-listing-');

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

it('final sandbox records expire (listed until then); expired ids leave the tenant index', async () => {
  const t = 'tenant-a';
  for (let i = 0; i < 2; i++) await putSandbox(r.redis, t, sandbox(`sb_live_${i}`, 1000 + i));
  await r.redis.rpush(redisKeys.sandboxCommits('sb_gone_0'), '{}');
  for (let i = 0; i < 3; i++) {
    await putSandbox(r.redis, t, sandbox(`sb_gone_${i}`, 2000 + i));
    expect(await markSandboxDestroyed(r.redis, `sb_gone_${i}`)).toBe(true);
  }
  await putSandbox(r.redis, t, sandbox('sb_failed', 3000));
  expect(await transitionSandbox(r.redis, 'sb_failed', 'ready', 'failed')).toBe(true);

  // Answerable (and listed) for a while, then gone: the record and its commits expire.
  expect((await getSandbox(r.redis, t, 'sb_gone_0'))?.state).toBe('destroyed');
  for (const key of [redisKeys.sandbox('sb_gone_0'), redisKeys.sandboxCommits('sb_gone_0')]) {
    const ttl = await r.redis.pttl(key);
    expect(ttl).toBeGreaterThan(FINAL_RECORD_TTL_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(FINAL_RECORD_TTL_MS);
  }
  expect(await r.redis.pttl(redisKeys.sandbox('sb_failed'))).toBeGreaterThan(0);
  expect(await r.redis.pttl(redisKeys.sandbox('sb_live_1'))).toBe(-1);
  expect((await listSandboxes(r.redis, t, 10)).map((s) => s.id)).toEqual([
    'sb_failed',
    'sb_gone_2',
    'sb_gone_1',
    'sb_gone_0',
    'sb_live_1',
    'sb_live_0',
  ]);

  // Expired: a page of 2 skips them (reading on) and drops their ids from the index.
  for (const id of ['sb_failed', 'sb_gone_2', 'sb_gone_1', 'sb_gone_0'])
    await r.redis.del(redisKeys.sandbox(id));
  expect((await listSandboxes(r.redis, t, 2)).map((s) => s.id)).toEqual(['sb_live_1', 'sb_live_0']);
  expect(await r.redis.zcard(redisKeys.tenantSandboxes(t))).toBe(2);
});

it('deleted codebase records expire', async () => {
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
  await putCodebase(r.redis, t, { ...base, id: 'cb_keep', createdAtMs: 1 });
  await putCodebase(r.redis, t, { ...base, id: 'cb_del', createdAtMs: 2 });
  expect(await transitionCodebase(r.redis, 'cb_del', '*', 'deleted')).toBe(true);
  expect((await listCodebases(r.redis, t, 5)).map((c) => [c.id, c.state])).toEqual([
    ['cb_del', 'deleted'],
    ['cb_keep', 'ready'],
  ]);
  expect(await r.redis.pttl(redisKeys.codebase('cb_del'))).toBeGreaterThan(0);
  expect(await r.redis.pttl(redisKeys.codebase('cb_keep'))).toBe(-1);
});
