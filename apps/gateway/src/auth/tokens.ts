import { createHash, randomBytes } from 'node:crypto';
import { redisKeys, TenantIdSchema } from '@cordon/protocol';
import type { Redis } from 'ioredis';

/** read: queries and subscriptions only; write: also mutations; admin: also tokens and nodes. */
export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Principal {
  readonly tenantId: string;
  readonly scope: Scope;
  readonly name: string;
}

const TOKEN_PREFIX = 'cdn_';
/** Hash of token id → sha256 of the token: the index `tokens.list` and `tokens.revoke` use. */
export const TOKEN_INDEX_KEY = 'cordon:token-ids';

export function newTokenId(): string {
  return 'tok_' + randomBytes(8).toString('hex');
}

/** Tokens are stored only as their sha256, so a Redis dump does not leak usable credentials. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export interface CreateTokenOptions {
  readonly tenantId: string;
  readonly scope: Scope;
  readonly name?: string;
  /** Use this token value instead of a random one (e.g. an admin token from configuration). */
  readonly token?: string;
}

/** Stores a token's hash and returns the token itself (shown once, never stored). */
export async function createToken(redis: Redis, opts: CreateTokenOptions): Promise<string> {
  return (await createTokenWithId(redis, opts)).token;
}

/** As createToken, also returning the token's id (for `tokens.list` / `tokens.revoke`). */
export async function createTokenWithId(
  redis: Redis,
  opts: CreateTokenOptions,
): Promise<{ id: string; token: string; createdAtMs: number }> {
  TenantIdSchema.parse(opts.tenantId);
  const token = opts.token ?? newToken();
  const sha = hashToken(token);
  // A configured token re-registered at every start keeps its id.
  const id = (await redis.hget(redisKeys.token(sha), 'id')) || newTokenId();
  const createdAtMs = Date.now();
  await redis
    .multi()
    .hset(redisKeys.token(sha), {
      id,
      tenantId: opts.tenantId,
      scope: opts.scope,
      name: opts.name ?? '',
      createdAtMs: String(createdAtMs),
    })
    .hset(TOKEN_INDEX_KEY, id, sha)
    .exec();
  return { id, token, createdAtMs };
}

export async function revokeToken(redis: Redis, token: string): Promise<boolean> {
  const sha = hashToken(token);
  const id = await redis.hget(redisKeys.token(sha), 'id');
  if (id) await redis.hdel(TOKEN_INDEX_KEY, id);
  return (await redis.del(redisKeys.token(sha))) === 1;
}

/** The principal of a bearer token, or null when the token is unknown (or revoked). */
export async function lookupToken(redis: Redis, token: string): Promise<Principal | null> {
  if (!token || token.length > 512) return null;
  const h = await redis.hgetall(redisKeys.token(hashToken(token)));
  const scope = h.scope as Scope | undefined;
  if (!h.tenantId || !scope || !SCOPES.includes(scope)) return null;
  return { tenantId: h.tenantId, scope, name: h.name ?? '' };
}

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  return m?.[1] ?? null;
}
