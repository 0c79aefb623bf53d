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
  TenantIdSchema.parse(opts.tenantId);
  const token = opts.token ?? newToken();
  await redis.hset(redisKeys.token(hashToken(token)), {
    tenantId: opts.tenantId,
    scope: opts.scope,
    name: opts.name ?? '',
    createdAtMs: String(Date.now()),
  });
  return token;
}

export async function revokeToken(redis: Redis, token: string): Promise<boolean> {
  return (await redis.del(redisKeys.token(hashToken(token)))) === 1;
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
