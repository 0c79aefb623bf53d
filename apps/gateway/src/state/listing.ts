import type { Redis } from 'ioredis';

/**
 * The newest records of a tenant's index (a sorted set of ids by creation time) that still
 * exist, `limit` at most. Final records (a destroyed sandbox, a deleted codebase) are listed
 * until they expire (FINAL_RECORD_TTL_MS; `cordon sandbox ls --all` shows them); ids whose
 * record has expired are removed from the index as they are met, so it does not grow for good.
 */
export async function listIndexed<T>(
  redis: Redis,
  o: {
    readonly indexKey: string;
    readonly recordKey: (id: string) => string;
    readonly tenantId: string;
    readonly limit: number;
    readonly decode: (record: Record<string, string>) => T;
  },
): Promise<T[]> {
  const out: T[] = [];
  let start = 0;
  while (out.length < o.limit) {
    const ids = await redis.zrevrange(o.indexKey, start, start + o.limit - 1);
    if (ids.length === 0) break;
    const p = redis.pipeline();
    for (const id of ids) p.hgetall(o.recordKey(id));
    const rows = (await p.exec()) ?? [];
    const stale: string[] = [];
    rows.forEach(([err, h], i) => {
      const rec = h as Record<string, string> | null;
      if (err) return;
      if (!rec?.id) stale.push(ids[i] as string);
      else if (rec.tenantId === o.tenantId && out.length < o.limit) out.push(o.decode(rec));
    });
    if (stale.length > 0) await redis.zrem(o.indexKey, ...stale);
    start += ids.length - stale.length;
  }
  return out;
}
