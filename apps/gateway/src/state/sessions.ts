import {
  ErrorInfoSchema,
  redisKeys,
  SessionRecordSchema,
  STATE_TRANSITION_LUA,
  type ErrorInfo,
  type SessionRecord,
  type SessionState,
} from '@cordon/protocol';
import type { Redis } from 'ioredis';
import { decodeJson, encodeJson } from './codec.ts';

export async function putSession(
  redis: Redis,
  tenantId: string,
  rec: SessionRecord,
  ttlMs: number,
): Promise<void> {
  await redis
    .multi()
    .hset(redisKeys.session(rec.id), {
      id: rec.id,
      tenantId,
      sandboxId: rec.sandboxId,
      nodeId: rec.nodeId,
      state: rec.state,
      createdAtMs: String(rec.createdAtMs),
      error: encodeJson(rec.error),
    })
    .pexpire(redisKeys.session(rec.id), ttlMs)
    .exec();
}

export async function getSession(
  redis: Redis,
  tenantId: string,
  sessionId: string,
): Promise<SessionRecord | null> {
  const h = await redis.hgetall(redisKeys.session(sessionId));
  if (!h.id || h.tenantId !== tenantId) return null;
  return SessionRecordSchema.parse({
    id: h.id,
    sandboxId: h.sandboxId,
    nodeId: h.nodeId,
    state: h.state,
    createdAtMs: Number(h.createdAtMs),
    error: h.error ? ErrorInfoSchema.parse(decodeJson(h.error)) : null,
  });
}

export async function transitionSession(
  redis: Redis,
  sessionId: string,
  from: SessionState | '*',
  to: SessionState,
  error: ErrorInfo | null = null,
): Promise<boolean> {
  const r = await redis.eval(
    STATE_TRANSITION_LUA,
    1,
    redisKeys.session(sessionId),
    from,
    to,
    encodeJson(error),
    'session',
  );
  return r === 1;
}
