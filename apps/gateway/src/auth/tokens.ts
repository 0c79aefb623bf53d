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
  return revokeTokenSha(redis, hashToken(token));
}

/**
 * Deletes a token (by its sha256) and announces it on the done channel, so every gateway's
 * TokenCache drops it now rather than at its TTL. True if it existed.
 */
export async function revokeTokenSha(redis: Redis, sha: string): Promise<boolean> {
  const id = await redis.hget(redisKeys.token(sha), 'id');
  const [deleted] = await Promise.all([
    redis.del(redisKeys.token(sha)),
    id ? redis.hdel(TOKEN_INDEX_KEY, id) : Promise.resolve(0),
  ]);
  await redis.publish(redisKeys.doneChannel(), revokedMessage(sha));
  return deleted === 1;
}

const REVOKED_PREFIX = 'token-revoked:';
const revokedMessage = (sha: string) => REVOKED_PREFIX + sha;

/** The principal of a bearer token, or null when the token is unknown (or revoked). */
export async function lookupToken(redis: Redis, token: string): Promise<Principal | null> {
  if (!token || token.length > 512) return null;
  return lookupSha(redis, hashToken(token));
}

async function lookupSha(redis: Redis, sha: string): Promise<Principal | null> {
  const h = await redis.hgetall(redisKeys.token(sha));
  const scope = h.scope as Scope | undefined;
  if (!h.tenantId || !scope || !SCOPES.includes(scope)) return null;
  return { tenantId: h.tenantId, scope, name: h.name ?? '' };
}

export interface TokenCacheOptions {
  /** How long a known token is trusted without asking Redis. Default 2 000 ms. */
  readonly ttlMs?: number;
  /** Entries kept (oldest dropped first). Default 10 000. */
  readonly maxEntries?: number;
}

/**
 * Known tokens' principals for a short while, so a request costs no Redis round trip for auth.
 * Unknown tokens are never cached (a token created a moment ago works at once). Revocations
 * reach it three ways: `forget` on the gateway that revoked (synchronous, before it answers),
 * the done channel's `token-revoked:<sha>` message on every other gateway (`onMessage`), and the
 * TTL as the bound when a message is lost (the cache is also cleared on resubscription).
 */
export class TokenCache {
  readonly #redis: Redis;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, { principal: Principal; expiresAtMs: number }>();
  /** Bumped by every forget/clear: a lookup begun before one must not store what it read. */
  #generation = 0;

  constructor(redis: Redis, o: TokenCacheOptions = {}) {
    this.#redis = redis;
    this.#ttlMs = o.ttlMs ?? 2_000;
    this.#maxEntries = o.maxEntries ?? 10_000;
  }

  async lookup(token: string): Promise<Principal | null> {
    if (!token || token.length > 512) return null;
    const sha = hashToken(token);
    const hit = this.#entries.get(sha);
    const now = Date.now();
    if (hit && hit.expiresAtMs > now) return hit.principal;
    if (hit) this.#entries.delete(sha);
    const generation = this.#generation;
    const principal = await lookupSha(this.#redis, sha);
    if (principal && generation === this.#generation && this.#ttlMs > 0) {
      if (this.#entries.size >= this.#maxEntries) {
        const oldest = this.#entries.keys().next();
        if (!oldest.done) this.#entries.delete(oldest.value);
      }
      this.#entries.set(sha, { principal, expiresAtMs: now + this.#ttlMs });
    }
    return principal;
  }

  /** Drops a token (by sha256) now. */
  forget(sha: string): void {
    this.#generation++;
    this.#entries.delete(sha);
  }

  clear(): void {
    this.#generation++;
    this.#entries.clear();
  }

  /** A message on the done channel: drops the token a `token-revoked:<sha>` names. */
  onMessage(message: string): void {
    if (message.startsWith(REVOKED_PREFIX)) this.forget(message.slice(REVOKED_PREFIX.length));
  }
}

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  return m?.[1] ?? null;
}
