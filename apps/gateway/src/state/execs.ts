import {
  ErrorInfoSchema,
  ExecRecordSchema,
  ExecResultSchema,
  FINALIZE_EXEC_LUA,
  redisKeys,
  RESERVE_EXEC_LUA,
  type ExecKind,
  type ExecOutcome,
  type ExecRecord,
} from '@cordon/protocol';
import type { Redis } from 'ioredis';
import { decodeInt, decodeJson, encodeJson } from './codec.ts';
import { runScript, type LuaScript } from './scripts.ts';

const RESERVE: LuaScript = { name: 'cordonReserveExec', keys: 2, lua: RESERVE_EXEC_LUA };
const FINALIZE: LuaScript = { name: 'cordonFinalizeExec', keys: 3, lua: FINALIZE_EXEC_LUA };

/**
 * FINALIZE_EXEC_LUA for an outcome a node reports, in one round trip: refused (-2) unless the exec
 * is assigned to that node (ARGV[8]), and answering the record as it is afterwards, so this
 * gateway can answer its own waiters without reading it again.
 */
const SETTLE_FROM_NODE: LuaScript = {
  name: 'cordonSettleFromNode',
  keys: 3,
  lua: `
if redis.call('HGET', KEYS[1], 'nodeId') ~= ARGV[8] then return { -2 } end
local function finalize()
${FINALIZE_EXEC_LUA}
end
local r = finalize()
return { r, redis.call('HGETALL', KEYS[1]) }
`,
};

export interface NewExec {
  readonly id: string;
  readonly tenantId: string;
  readonly sandboxId: string;
  readonly nodeId: string;
  readonly argv: readonly string[];
  readonly createdAtMs: number;
  /** Default 'exec'. */
  readonly kind?: ExecKind;
  readonly sessionId?: string | null;
}

/**
 * Creates the exec record and counts it against its node, atomically, unless the node already
 * holds `limit` pending execs. Returns false when the node is full.
 */
export async function reserveExec(
  redis: Redis,
  e: NewExec,
  limit: number,
  ttlMs: number,
): Promise<boolean> {
  const fields = {
    id: e.id,
    tenantId: e.tenantId,
    sandboxId: e.sandboxId,
    nodeId: e.nodeId,
    status: 'queued',
    kind: e.kind ?? 'exec',
    sessionId: e.sessionId ?? '',
    argv: JSON.stringify(e.argv),
    createdAtMs: String(e.createdAtMs),
    startedAtMs: '',
    endedAtMs: '',
    result: '',
    error: '',
  };
  const r = await runScript(redis, RESERVE, [
    redisKeys.nodeExecs(e.nodeId),
    redisKeys.exec(e.id),
    limit,
    e.id,
    ttlMs,
    ...Object.entries(fields).flat(),
  ]);
  return r === 1;
}

function decode(h: Record<string, string>): ExecRecord {
  return ExecRecordSchema.parse({
    id: h.id,
    sandboxId: h.sandboxId,
    nodeId: h.nodeId,
    status: h.status,
    kind: h.kind || 'exec',
    sessionId: h.sessionId || null,
    argv: decodeJson(h.argv),
    createdAtMs: Number(h.createdAtMs),
    startedAtMs: decodeInt(h.startedAtMs),
    endedAtMs: decodeInt(h.endedAtMs),
    result: h.result ? ExecResultSchema.parse(decodeJson(h.result)) : null,
    error: h.error ? ErrorInfoSchema.parse(decodeJson(h.error)) : null,
  });
}

export async function getExec(
  redis: Redis,
  tenantId: string,
  execId: string,
): Promise<ExecRecord | null> {
  return execOfHash(await redis.hgetall(redisKeys.exec(execId)), tenantId);
}

/** Any tenant's exec; for cluster-internal use only. */
export async function getExecUnscoped(redis: Redis, execId: string): Promise<ExecRecord | null> {
  const h = await redis.hgetall(redisKeys.exec(execId));
  return h.id ? decode(h) : null;
}

/**
 * Settles an exec exactly once (see FINALIZE_EXEC_LUA). `onlyIfQueued` is for cancel: it wins only
 * if the node has not claimed the exec yet. Returns true if this call set the outcome.
 */
export async function finalizeExec(
  redis: Redis,
  exec: { id: string; nodeId: string },
  outcome: ExecOutcome,
  ttlMs: number,
  onlyIfQueued = false,
): Promise<boolean> {
  const r = await runScript(redis, FINALIZE, [
    redisKeys.exec(exec.id),
    redisKeys.execOutput(exec.id),
    redisKeys.nodeExecs(exec.nodeId),
    ...finalizeArgs(exec.id, outcome, ttlMs),
    onlyIfQueued ? 'queued' : 'any',
  ]);
  return r === 1;
}

function finalizeArgs(execId: string, outcome: ExecOutcome, ttlMs: number): (string | number)[] {
  return [
    outcome.status,
    encodeJson(outcome.result),
    encodeJson(outcome.error),
    Date.now(),
    ttlMs,
    execId,
  ];
}

export interface NodeSettle {
  /** settled: this call set the outcome; lost: it was settled before; wrongNode: not the node's exec. */
  readonly result: 'settled' | 'lost' | 'wrongNode';
  /** The exec's hash after the call (empty when wrongNode or gone); see execOfHash. */
  readonly hash: Record<string, string>;
}

/**
 * Settles an exec with the outcome its node reported (as finalizeExec, CAS) — only if it is that
 * node's exec — and answers the record as it is now. One round trip. Issued synchronously, so it
 * runs after every command already sent on this connection (the exec's output chunks).
 */
export async function settleFromNode(
  redis: Redis,
  nodeId: string,
  execId: string,
  outcome: ExecOutcome,
  ttlMs: number,
): Promise<NodeSettle> {
  const r = (await runScript(redis, SETTLE_FROM_NODE, [
    redisKeys.exec(execId),
    redisKeys.execOutput(execId),
    redisKeys.nodeExecs(nodeId),
    ...finalizeArgs(execId, outcome, ttlMs),
    'any',
    nodeId,
  ])) as [number, string[]?];
  const hash: Record<string, string> = {};
  const flat = r[1] ?? [];
  for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i] as string] = flat[i + 1] as string;
  const result = r[0] === -2 ? 'wrongNode' : r[0] === 1 ? 'settled' : 'lost';
  return { result, hash };
}

/** The exec record in `h` (an exec hash) if it belongs to `tenantId`, else null. */
export function execOfHash(h: Record<string, string>, tenantId: string): ExecRecord | null {
  if (!h.id || h.tenantId !== tenantId) return null;
  return decode(h);
}
