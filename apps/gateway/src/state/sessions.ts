import {
  APPEND_TERMINAL_INPUT_LUA,
  encodeTerminalInput,
  ErrorInfoSchema,
  MAX_TERMINAL_INPUT_BACKLOG,
  PtySizeSchema,
  redisKeys,
  SessionRecordSchema,
  STATE_TRANSITION_LUA,
  type ErrorInfo,
  type SessionRecord,
  type SessionState,
  type TerminalInput,
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
      pty: encodeJson(rec.pty),
      execId: rec.execId ?? '',
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
    pty: h.pty ? PtySizeSchema.nullable().parse(decodeJson(h.pty)) : null,
    execId: h.execId || null,
  });
}

/** Records the exec that carries a terminal session's shell (known once it is dispatched). */
export async function setSessionExec(
  redis: Redis,
  sessionId: string,
  execId: string,
): Promise<void> {
  await redis.hset(redisKeys.session(sessionId), 'execId', execId);
}

/**
 * Appends to a terminal session's input stream; false when the node has not consumed the last
 * MAX_TERMINAL_INPUT_BACKLOG entries (its shell is stuck or the node is gone).
 */
export async function appendTerminalInput(
  redis: Redis,
  sessionId: string,
  input: TerminalInput,
  ttlMs: number,
): Promise<boolean> {
  const r = await redis.eval(
    APPEND_TERMINAL_INPUT_LUA,
    1,
    redisKeys.sessionInput(sessionId),
    MAX_TERMINAL_INPUT_BACKLOG,
    ttlMs,
    ...encodeTerminalInput(input),
  );
  return r === 1;
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
