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
  const r = await redis.eval(
    RESERVE_EXEC_LUA,
    2,
    redisKeys.nodeExecs(e.nodeId),
    redisKeys.exec(e.id),
    limit,
    e.id,
    ttlMs,
    ...Object.entries(fields).flat(),
  );
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
  const h = await redis.hgetall(redisKeys.exec(execId));
  if (!h.id || h.tenantId !== tenantId) return null;
  return decode(h);
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
  const r = await redis.eval(
    FINALIZE_EXEC_LUA,
    3,
    redisKeys.exec(exec.id),
    redisKeys.execOutput(exec.id),
    redisKeys.nodeExecs(exec.nodeId),
    outcome.status,
    encodeJson(outcome.result),
    encodeJson(outcome.error),
    Date.now(),
    ttlMs,
    exec.id,
    onlyIfQueued ? 'queued' : 'any',
  );
  return r === 1;
}
