import { redisKeys, TenantIdSchema } from '@cordon/protocol';
import { z } from 'zod';
import {
  createTokenWithId,
  revokeTokenSha,
  SCOPES,
  TOKEN_INDEX_KEY,
  type Scope,
} from '../auth/tokens.ts';
import { adminProcedure, router } from '../trpc.ts';

const TokenIdSchema = z
  .string()
  .regex(/^tok_[0-9a-f]{16}$/, 'must be a token id as listed by tokens.list (tok_…)');

const TokenInfoSchema = z.strictObject({
  id: TokenIdSchema,
  name: z.string(),
  scope: z.enum(SCOPES),
  tenantId: z.string(),
  createdAtMs: z.int(),
});
type TokenInfo = z.output<typeof TokenInfoSchema>;

const TokenCreateInputSchema = z.strictObject({
  /** Tenant of the new token; default the caller's own. */
  tenantId: TenantIdSchema.optional(),
  scope: z.enum(SCOPES),
  name: z.string().max(200).default(''),
});

/**
 * API token administration (admin tokens only). Tokens are stored as their sha256; the secret is
 * in the answer of `create` and nowhere else. Revocation is immediate for HTTP calls; an open
 * websocket authenticated with the token keeps its connection until it reconnects.
 */
export const tokensRouter = router({
  create: adminProcedure
    .input(TokenCreateInputSchema)
    .output(TokenInfoSchema.extend({ token: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const tenantId = input.tenantId ?? ctx.principal.tenantId;
      const { id, token, createdAtMs } = await createTokenWithId(ctx.services.redis, {
        tenantId,
        scope: input.scope,
        name: input.name,
      });
      ctx.log.info({ tokenId: id, tenantId, scope: input.scope }, 'token created');
      return { id, name: input.name, scope: input.scope, tenantId, createdAtMs, token };
    }),

  list: adminProcedure
    .input(z.strictObject({ tenantId: TenantIdSchema.optional() }).optional())
    .output(z.array(TokenInfoSchema))
    .query(async ({ ctx, input }) => {
      const { redis } = ctx.services;
      const index = await redis.hgetall(TOKEN_INDEX_KEY);
      const entries = Object.entries(index).sort(([a], [b]) => a.localeCompare(b));
      const p = redis.pipeline();
      for (const [, sha] of entries) p.hgetall(redisKeys.token(sha));
      const rows = (await p.exec()) ?? [];
      const out: TokenInfo[] = [];
      entries.forEach(([id], i) => {
        const h = rows[i]?.[1] as Record<string, string> | undefined;
        if (!h?.tenantId) return;
        if (input?.tenantId && h.tenantId !== input.tenantId) return;
        out.push({
          id,
          name: h.name ?? '',
          scope: h.scope as Scope,
          tenantId: h.tenantId,
          createdAtMs: Number(h.createdAtMs ?? 0),
        });
      });
      return out;
    }),

  /** Idempotent: `revoked` is false when no such token exists (any more). */
  revoke: adminProcedure
    .input(z.strictObject({ id: TokenIdSchema }))
    .output(z.strictObject({ revoked: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      const { redis, tokens } = ctx.services;
      const sha = await redis.hget(TOKEN_INDEX_KEY, input.id);
      if (!sha) return { revoked: false };
      // Other gateways drop it on the done channel's message; this one before answering.
      const deleted = await revokeTokenSha(redis, sha);
      tokens.forget(sha);
      ctx.log.info({ tokenId: input.id }, 'token revoked');
      return { revoked: deleted };
    }),
});
