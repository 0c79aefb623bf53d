import {
  CodebaseRecordSchema,
  ErrorInfoSchema,
  redisKeys,
  STATE_TRANSITION_LUA,
  type CodebaseRecord,
  type CodebaseState,
  type ErrorInfo,
} from '@cordon/protocol';
import type { Redis } from 'ioredis';
import { listIndexed } from './listing.ts';
import { decodeJson, encodeJson } from './codec.ts';

export async function putCodebase(
  redis: Redis,
  tenantId: string,
  rec: CodebaseRecord,
): Promise<void> {
  await redis
    .multi()
    .hset(redisKeys.codebase(rec.id), {
      id: rec.id,
      tenantId,
      nodeId: rec.nodeId,
      state: rec.state,
      source: rec.source,
      path: rec.path ?? '',
      name: rec.name ?? '',
      scratch: rec.scratch ? '1' : '0',
      uploadPath: rec.uploadPath ?? '',
      createdAtMs: String(rec.createdAtMs),
      error: encodeJson(rec.error),
      uploadError: '',
    })
    .zadd(redisKeys.tenantCodebases(tenantId), rec.createdAtMs, rec.id)
    .sadd(redisKeys.nodeCodebases(rec.nodeId), rec.id)
    .exec();
}

function decode(h: Record<string, string>): CodebaseRecord {
  return CodebaseRecordSchema.parse({
    id: h.id,
    nodeId: h.nodeId,
    state: h.state,
    source: h.source,
    path: h.path || null,
    name: h.name || null,
    scratch: h.scratch === '1',
    uploadPath: h.uploadPath || null,
    createdAtMs: Number(h.createdAtMs),
    error: h.error ? ErrorInfoSchema.parse(decodeJson(h.error)) : null,
  });
}

/** The codebase if it exists and belongs to `tenantId`; null otherwise (answer NOT_FOUND). */
export async function getCodebase(
  redis: Redis,
  tenantId: string,
  codebaseId: string,
): Promise<CodebaseRecord | null> {
  const h = await redis.hgetall(redisKeys.codebase(codebaseId));
  if (!h.id || h.tenantId !== tenantId) return null;
  return decode(h);
}

/** The error of the last failed upload (cleared when a new one starts). */
export async function uploadErrorOf(redis: Redis, codebaseId: string): Promise<ErrorInfo | null> {
  const raw = await redis.hget(redisKeys.codebase(codebaseId), 'uploadError');
  return raw ? ErrorInfoSchema.parse(decodeJson(raw)) : null;
}

export async function clearUploadError(redis: Redis, codebaseId: string): Promise<void> {
  await redis.hset(redisKeys.codebase(codebaseId), 'uploadError', '');
}

export async function listCodebases(
  redis: Redis,
  tenantId: string,
  limit: number,
): Promise<CodebaseRecord[]> {
  return listIndexed(redis, {
    indexKey: redisKeys.tenantCodebases(tenantId),
    recordKey: redisKeys.codebase,
    tenantId,
    limit,
    decode,
  });
}

/** Compare-and-set of the state; `from: '*'` = any state that is not final. */
export async function transitionCodebase(
  redis: Redis,
  codebaseId: string,
  from: CodebaseState | '*',
  to: CodebaseState,
  error: ErrorInfo | null = null,
): Promise<boolean> {
  const r = await redis.eval(
    STATE_TRANSITION_LUA,
    1,
    redisKeys.codebase(codebaseId),
    from,
    to,
    encodeJson(error),
    'codebase',
  );
  return r === 1;
}
