import {
  AuditDenialsInputSchema,
  DenialEventSchema,
  logRedisErrors,
  redisKeys,
  type DenialEvent,
} from '@cordon/protocol';
import { tracked } from '@trpc/server';
import { authedProcedure, router } from '../trpc.ts';
import { ownSandbox } from './dispatch-exec.ts';

const BLOCK_MS = 5_000;
const BATCH = 64;

function eventOf(flat: string[]): DenialEvent | null {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i] as string] = flat[i + 1] as string;
  const parsed = DenialEventSchema.safeParse({ ...f, at: Number(f.at) });
  return parsed.success ? parsed.data : null;
}

export const auditRouter = router({
  /**
   * The tenant's denied accesses as they happen (optionally one sandbox's), each tracked by its
   * stream id: reconnecting with lastEventId resumes after it, from any gateway. lastEventId '0'
   * replays what is kept (the newest ~10 000 per tenant).
   */
  denials: authedProcedure.input(AuditDenialsInputSchema).subscription(async function* ({
    ctx,
    input,
    signal,
  }) {
    const tenantId = ctx.principal.tenantId;
    if (input.sandboxId) await ownSandbox(ctx, tenantId, input.sandboxId);
    const conn = ctx.services.redis.duplicate({ maxRetriesPerRequest: 1 });
    logRedisErrors(conn, ctx.log, 'denial stream');
    const abort = () => conn.disconnect();
    signal?.addEventListener('abort', abort, { once: true });
    const key = redisKeys.tenantDenials(tenantId);
    // '$' resolved once: re-reading with '$' after an empty BLOCK would skip what came between.
    let lastId =
      input.lastEventId ?? (await conn.xrevrange(key, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
    try {
      while (!signal?.aborted) {
        const res = await conn.xread('COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', key, lastId);
        const entries = res?.[0]?.[1] ?? [];
        for (const [id, flat] of entries) {
          lastId = id;
          const ev = eventOf(flat);
          if (!ev || (input.sandboxId && ev.sandboxId !== input.sandboxId)) continue;
          yield tracked(id, ev);
        }
      }
    } catch (err) {
      if (!signal?.aborted) throw err;
    } finally {
      signal?.removeEventListener('abort', abort);
      conn.disconnect();
    }
  }),
});
