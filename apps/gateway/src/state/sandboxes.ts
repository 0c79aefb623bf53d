import {
  ErrorInfoSchema,
  LimitsSchema,
  redisKeys,
  SANDBOX_TRANSITION_LUA,
  SandboxRecordSchema,
  type ErrorInfo,
  type NodeInfo,
  type SandboxRecord,
  type SandboxState,
} from '@cordon/protocol';
import type { Redis } from 'ioredis';
import { listIndexed } from './listing.ts';
import { decodeInt, decodeJson, encodeInt, encodeJson } from './codec.ts';
import { nodeInfoOf } from './nodes.ts';
import { runScript, type LuaScript } from './scripts.ts';

export async function putSandbox(
  redis: Redis,
  tenantId: string,
  rec: SandboxRecord,
): Promise<void> {
  await redis
    .multi()
    .hset(redisKeys.sandbox(rec.id), {
      id: rec.id,
      tenantId,
      nodeId: rec.nodeId,
      state: rec.state,
      policyHash: rec.policyHash,
      limits: JSON.stringify(rec.limits),
      network: rec.network,
      strict: rec.strict ? '1' : '0',
      idleTimeoutMs: encodeInt(rec.idleTimeoutMs),
      commit: rec.commit,
      commitMode: rec.commitMode,
      quotaBytes: String(rec.quotaBytes),
      codebaseId: rec.codebaseId,
      createdAtMs: String(rec.createdAtMs),
      error: encodeJson(rec.error),
    })
    .zadd(redisKeys.tenantSandboxes(tenantId), rec.createdAtMs, rec.id)
    .sadd(redisKeys.nodeSandboxes(rec.nodeId), rec.id)
    .sadd(redisKeys.codebaseSandboxes(rec.codebaseId), rec.id)
    .exec();
}

function decode(h: Record<string, string>): SandboxRecord {
  return SandboxRecordSchema.parse({
    id: h.id,
    nodeId: h.nodeId,
    state: h.state,
    policyHash: h.policyHash,
    limits: LimitsSchema.parse(decodeJson(h.limits)),
    network: h.network,
    strict: h.strict === '1',
    idleTimeoutMs: decodeInt(h.idleTimeoutMs),
    commit: h.commit || 'always',
    commitMode: h.commitMode || 'lww',
    quotaBytes: Number(h.quotaBytes || 1024 ** 3),
    codebaseId: h.codebaseId,
    createdAtMs: Number(h.createdAtMs),
    error: h.error ? ErrorInfoSchema.parse(decodeJson(h.error)) : null,
  });
}

/** Placeholder split out of a key template, so a script builds a node's keys from its id. */
const ID = '\u0000';
const around = (key: string): [string, string] => {
  const [pre = '', post = ''] = key.split(ID);
  return [pre, post];
};

/**
 * The sandbox hash and, when it exists, its node's record, liveness and set sizes — read in one
 * round trip (the node id is in the sandbox hash, so a pipeline would need two).
 * KEYS: sandbox hash. ARGV: the four node key templates as prefix/suffix pairs.
 */
const SANDBOX_WITH_NODE: LuaScript = {
  name: 'cordonSandboxWithNode',
  keys: 1,
  lua: `
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return {} end
local n = ''
for i = 1, #h, 2 do if h[i] == 'nodeId' then n = h[i + 1] end end
local function k(i) return ARGV[i] .. n .. ARGV[i + 1] end
return { h, redis.call('GET', k(1)), redis.call('EXISTS', k(3)), redis.call('SCARD', k(5)), redis.call('SCARD', k(7)) }
`,
};

/** The sandbox (as getSandbox) with its node (as getNode), in one round trip. */
export async function getSandboxWithNode(
  redis: Redis,
  tenantId: string,
  sandboxId: string,
): Promise<{ sb: SandboxRecord; node: NodeInfo | null } | null> {
  const r = (await runScript(redis, SANDBOX_WITH_NODE, [
    redisKeys.sandbox(sandboxId),
    ...around(redisKeys.node(ID)),
    ...around(redisKeys.nodeAlive(ID)),
    ...around(redisKeys.nodeSandboxes(ID)),
    ...around(redisKeys.nodeExecs(ID)),
  ])) as [string[], unknown, unknown, unknown, unknown] | [];
  if (r.length === 0) return null;
  const [flat, rec, alive, sandboxes, execs] = r;
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i] as string] = flat[i + 1] as string;
  if (!h.id || h.tenantId !== tenantId) return null;
  return { sb: decode(h), node: nodeInfoOf(rec, alive, sandboxes, execs) };
}

/** The sandbox if it exists and belongs to `tenantId`; null otherwise (callers answer NOT_FOUND). */
export async function getSandbox(
  redis: Redis,
  tenantId: string,
  sandboxId: string,
): Promise<SandboxRecord | null> {
  const h = await redis.hgetall(redisKeys.sandbox(sandboxId));
  if (!h.id || h.tenantId !== tenantId) return null;
  return decode(h);
}

export async function listSandboxes(
  redis: Redis,
  tenantId: string,
  limit: number,
): Promise<SandboxRecord[]> {
  return listIndexed(redis, {
    indexKey: redisKeys.tenantSandboxes(tenantId),
    recordKey: redisKeys.sandbox,
    tenantId,
    limit,
    decode,
  });
}

/** Compare-and-set of the state; `from: '*'` = any state that is not final. */
export async function transitionSandbox(
  redis: Redis,
  sandboxId: string,
  from: SandboxState | '*',
  to: SandboxState,
  error: ErrorInfo | null = null,
): Promise<boolean> {
  const r = await redis.eval(
    SANDBOX_TRANSITION_LUA,
    2,
    redisKeys.sandbox(sandboxId),
    redisKeys.sandboxCommits(sandboxId),
    from,
    to,
    encodeJson(error),
  );
  return r === 1;
}

/**
 * Marks the sandbox destroyed from any state but destroyed/failed — `lost` included, so a sandbox
 * whose node died can still be got rid of (the node cleans it up when it comes back instead of
 * bringing it back). False when it was already final.
 */
export async function markSandboxDestroyed(redis: Redis, sandboxId: string): Promise<boolean> {
  return (
    (await transitionSandbox(redis, sandboxId, '*', 'destroyed')) ||
    (await transitionSandbox(redis, sandboxId, 'lost', 'destroyed'))
  );
}

/** Sandboxes of a codebase that still exist (creating or ready); stale ids are pruned. */
export async function liveSandboxesOf(redis: Redis, codebaseId: string): Promise<string[]> {
  const key = redisKeys.codebaseSandboxes(codebaseId);
  const live: string[] = [];
  for (const id of await redis.smembers(key)) {
    const st = await redis.hget(redisKeys.sandbox(id), 'state');
    if (st === 'creating' || st === 'ready') live.push(id);
    else await redis.srem(key, id);
  }
  return live;
}
