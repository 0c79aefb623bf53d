import { describe, expect, it } from 'vitest';
import { SharedOutputReader, type StreamEntries } from '../../src/output/shared-reader.ts';
import { useRedisServer } from '../helpers/redis-server.ts';

const r = useRedisServer('cordon-shared-reader-');

const clients = async () => (String(await r.redis.client('LIST')).match(/^id=/gm) ?? []).length;
const seqs = (entries: StreamEntries) => entries.map(([id]) => id.toString());
const append = (key: string, seq: number) => r.redis.xadd(key, `${seq}-0`, 'd', `chunk ${seq}`);

describe('shared output reader', () => {
  it('serves many waiting subscribers over two Redis connections, each with its own entries', async () => {
    const before = await clients();
    // A block far longer than the test: every wake-up below must come from data or an unblock.
    const reader = await SharedOutputReader.start({ redis: r.redis, blockMs: 60_000 });
    try {
      const keys = Array.from({ length: 200 }, (_, i) => `t1:${i}`);
      const waits: Promise<StreamEntries>[] = [];
      for (const [i, key] of keys.entries()) {
        await append(key, 1);
        // Every subscriber starts after a different point; some arrive while the read blocks.
        waits.push(reader.wait(key, '1-0', 4, 60_000));
        if (i % 50 === 0) await new Promise((r) => setTimeout(r, 20));
      }
      expect(await clients()).toBe(before + 2); // reads and blocker, for 200 subscribers
      for (const [i, key] of keys.entries()) {
        // One or two entries at once (MULTI): a wake-up hands over what is there.
        const m = r.redis.multi().xadd(key, '2-0', 'd', 'chunk 2');
        if (i % 2 === 0) m.xadd(key, '3-0', 'd', 'chunk 3');
        await m.exec();
      }
      const got = await Promise.all(waits);
      // While many streams wait, the 16 MiB reply budget lowers COUNT (200 × 256 KiB: 1 entry):
      // a wake-up may hand over fewer entries than there are; the rest is read without waiting.
      for (const [i, entries] of got.entries()) {
        const woke = seqs(entries);
        expect(woke[0]).toBe('2-0');
        const rest = await reader.read(keys[i] as string, woke.at(-1) as string, 4);
        expect([...woke, ...seqs(rest)]).toEqual(i % 2 === 0 ? ['2-0', '3-0'] : ['2-0']);
      }
      expect(reader.waiting).toBe(0);
    } finally {
      reader.close();
    }
  });

  it('resumes after the given id, caps a wake-up at the subscriber count, reads without waiting', async () => {
    const reader = await SharedOutputReader.start({ redis: r.redis, blockMs: 60_000 });
    try {
      for (let seq = 1; seq <= 10; seq++) await append('t2', seq);
      expect(seqs(await reader.read('t2', '7-0', 16))).toEqual(['8-0', '9-0', '10-0']);
      expect(seqs(await reader.read('t2', '0-0', 2))).toEqual(['1-0', '2-0']);
      expect(await reader.read('t2', '10-0', 16)).toEqual([]);
      // Two subscribers of one stream at different points.
      const a = reader.wait('t2', '3-0', 2, 60_000);
      const b = reader.wait('t2', '10-0', 16, 60_000);
      expect(seqs(await a)).toEqual(['4-0', '5-0']);
      await append('t2', 11);
      expect(seqs(await b)).toEqual(['11-0']);
    } finally {
      reader.close();
    }
  });

  it('answers [] on timeout and on abort, and rejects waiters when closed', async () => {
    const reader = await SharedOutputReader.start({ redis: r.redis, blockMs: 60_000 });
    expect(await reader.wait('t3', '0-0', 4, 50)).toEqual([]);
    const ac = new AbortController();
    const aborted = reader.wait('t3', '0-0', 4, 60_000, ac.signal);
    ac.abort();
    expect(await aborted).toEqual([]);
    const pending = reader.wait('t3', '0-0', 4, 60_000);
    reader.close();
    await expect(pending).rejects.toThrow(/closed/);
    expect(reader.waiting).toBe(0);
  });

  it('hands chunks stored by this gateway to waiters in memory, in order only, and falls back to Redis', async () => {
    const reader = await SharedOutputReader.start({
      redis: r.redis,
      blockMs: 60_000,
      localGraceMs: 60_000,
    });
    const entry = (seq: number): StreamEntries[number] => [
      Buffer.from(`${seq}-0`),
      [Buffer.from('d'), Buffer.from(`local ${seq}`)],
    ];
    try {
      const before = await r.redis.info('commandstats');
      const xreads = (info: string) => Number(/cmdstat_xread:calls=(\d+)/.exec(info)?.[1] ?? 0);
      reader.offer('t4', 1, entry(1)); // the stream is now stored here
      const w = reader.wait('t4', '1-0', 4, 60_000);
      reader.offer('t4', 3, entry(3)); // not the next seq: not handed over
      reader.offer('t4', 2, entry(2));
      const got = await w;
      expect(got.map(([, f]) => String(f[1]))).toEqual(['local 2']);
      expect(xreads(await r.redis.info('commandstats'))).toBe(xreads(before));
      // The exec settled: a waiting subscriber reads Redis (where `end` is) at once.
      const last = reader.wait('t4', '3-0', 4, 60_000);
      await r.redis.xadd('t4', '4-0', 'k', 'end');
      reader.ended('t4');
      expect(seqs(await last)).toEqual(['4-0']);
    } finally {
      reader.close();
    }
    // Not stored here (or long ago): waiters read Redis without a grace time.
    const other = await SharedOutputReader.start({
      redis: r.redis,
      blockMs: 60_000,
      localGraceMs: 60_000,
    });
    try {
      const w = other.wait('t5', '0-0', 4, 60_000);
      await append('t5', 1);
      expect(seqs(await w)).toEqual(['1-0']);
    } finally {
      other.close();
    }
  });
});
