// The output append transaction (MULTI, note length, XADD, check, EXEC) against a real
// redis-server: every refusal leaves the stream exactly as it was, and only a chunk that is
// really in the stream is reported stored.
import { FINALIZE_EXEC_LUA, redisKeys, type ChunkFrame } from '@cordon/protocol';
import { describe, expect, it } from 'vitest';
import { appendChunk } from '../../src/output/append-chunk.ts';
import { APPEND_AFTER_LUA, APPEND_RESULT } from '../../src/output/append-script.ts';
import { runningExec } from '../observability/synthetic-node.ts';
import { useRedisServer } from '../helpers/redis-server.ts';

const r = useRedisServer('cordon-gw-append-');

const target = { nodeId: 'n1', maxEntries: 1000, ttlMs: 60_000 };
let n = 0;
async function exec(): Promise<string> {
  const execId = `ex_append_${++n}`;
  await runningExec(r.redis, { execId, tenantId: 't', nodeId: target.nodeId });
  return execId;
}
const chunk = (
  execId: string,
  seq: number,
  data: Buffer | string = `chunk ${seq}`,
): ChunkFrame => ({
  execId,
  seq,
  stream: 'stdout',
  data: Buffer.isBuffer(data) ? data : Buffer.from(data),
});
async function entries(execId: string): Promise<[string, string][]> {
  const rows = await r.redis.xrange(redisKeys.execOutput(execId), '-', '+');
  return rows.map(([id, f]) => [id, f[f.indexOf('k') + 1] === 'end' ? 'end' : (f[5] ?? '')]);
}

describe('appendChunk', () => {
  it('stores chunks in order, byte for byte, and records the last seq', async () => {
    const id = await exec();
    const big = Buffer.alloc(256 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    expect(await appendChunk(r.redis, target, chunk(id, 1))).toBe(APPEND_RESULT.stored);
    expect(await appendChunk(r.redis, target, chunk(id, 2, big))).toBe(APPEND_RESULT.stored);
    const [, second] =
      (await r.redis.xrangeBuffer(redisKeys.execOutput(id), '2-0', '2-0'))[0] ?? [];
    expect(Buffer.compare(second?.[5] ?? Buffer.alloc(0), big)).toBe(0);
    expect(await r.redis.hget(redisKeys.exec(id), 'outSeq')).toBe('2');
    expect(await r.redis.pttl(redisKeys.execOutput(id))).toBeGreaterThan(0);
  });

  it('answers duplicate for a resent chunk and keeps the first copy', async () => {
    const id = await exec();
    await appendChunk(r.redis, target, chunk(id, 1, 'first'));
    expect(await appendChunk(r.redis, target, chunk(id, 1, 'again'))).toBe(APPEND_RESULT.duplicate);
    expect(await entries(id)).toEqual([['1-0', 'first']]);
  });

  it('refuses a seq that skips one and undoes its XADD', async () => {
    const id = await exec();
    await appendChunk(r.redis, target, chunk(id, 1));
    expect(await appendChunk(r.redis, target, chunk(id, 3))).toBe(APPEND_RESULT.gap);
    expect(await entries(id)).toEqual([['1-0', 'chunk 1']]);
    expect(await appendChunk(r.redis, target, chunk(id, 2))).toBe(APPEND_RESULT.stored);
  });

  it("refuses another node's chunk, even the next seq, and leaves no stream behind", async () => {
    const id = await exec();
    const other = { ...target, nodeId: 'n2' };
    expect(await appendChunk(r.redis, other, chunk(id, 1))).toBe(APPEND_RESULT.wrongNode);
    expect(await r.redis.exists(redisKeys.execOutput(id))).toBe(0);
    expect(await appendChunk(r.redis, target, chunk(id, 1))).toBe(APPEND_RESULT.stored);
    expect(await appendChunk(r.redis, other, chunk(id, 2, 'forged'))).toBe(APPEND_RESULT.wrongNode);
    expect(await appendChunk(r.redis, target, chunk(id, 2))).toBe(APPEND_RESULT.stored);
    expect(await entries(id)).toEqual([
      ['1-0', 'chunk 1'],
      ['2-0', 'chunk 2'],
    ]);
    expect(await appendChunk(r.redis, target, chunk('ex_never_created', 1))).toBe(
      APPEND_RESULT.wrongNode,
    );
    expect(await r.redis.exists(redisKeys.execOutput('ex_never_created'))).toBe(0);
  });

  it('refuses chunks after the exec settled and never deletes its end entry', async () => {
    const id = await exec();
    await appendChunk(r.redis, target, chunk(id, 1));
    const settled = await r.redis.eval(
      FINALIZE_EXEC_LUA,
      3,
      redisKeys.exec(id),
      redisKeys.execOutput(id),
      redisKeys.nodeExecs(target.nodeId),
      'canceled',
      '',
      '',
      Date.now(),
      60_000,
      id,
      'any',
    );
    expect(settled).toBe(1);
    // seq 2 is the end entry's id (the XADD fails), seq 3 lands above it (the XADD succeeds).
    expect(await appendChunk(r.redis, target, chunk(id, 2))).toBe(APPEND_RESULT.notRunning);
    expect(await appendChunk(r.redis, target, chunk(id, 3))).toBe(APPEND_RESULT.notRunning);
    expect(await entries(id)).toEqual([
      ['1-0', 'chunk 1'],
      ['2-0', 'end'],
    ]);
  });

  it('never reports a chunk stored when Redis refused its XADD', async () => {
    const id = await exec();
    // An entry above the next seq (not something Cordon writes): the XADD of seq 1 fails.
    await r.redis.xadd(redisKeys.execOutput(id), '5-0', 'k', 'chunk', 's', 'stdout', 'd', 'x');
    expect(await appendChunk(r.redis, target, chunk(id, 1))).toBe(APPEND_RESULT.notStored);
    expect(await r.redis.hget(redisKeys.exec(id), 'outSeq')).toBeNull();
    expect((await entries(id)).map(([eid]) => eid)).toEqual(['5-0']);
  });

  it('stays correct when a cut transaction comes back as a lone XADD and check', async () => {
    // ioredis resends a dropped connection's unanswered commands; MULTI and the length note may
    // have been answered already, so the XADD and the check can run on their own.
    const lone = async (id: string, seq: number, nodeId: string) => {
      await r.redis.xadd(
        redisKeys.execOutput(id),
        `${seq}-0`,
        'k',
        'chunk',
        's',
        'stdout',
        'd',
        `c${seq}`,
      );
      return r.redis.eval(
        APPEND_AFTER_LUA,
        3,
        redisKeys.exec(id),
        redisKeys.execOutput(id),
        redisKeys.appendScratch(),
        nodeId,
        seq,
        1000,
        60_000,
      );
    };
    const id = await exec();
    await appendChunk(r.redis, target, chunk(id, 1));
    // A note left by another stream's append does not count for this one.
    await r.redis.set(redisKeys.appendScratch(), `0 ${redisKeys.execOutput('ex_other')}`);
    expect(await lone(id, 2, target.nodeId)).toBe(APPEND_RESULT.stored);
    expect(await r.redis.hget(redisKeys.exec(id), 'outSeq')).toBe('2');
    // The node resends it (it never got the ack): a duplicate, not a refusal forever.
    expect(await appendChunk(r.redis, target, chunk(id, 2))).toBe(APPEND_RESULT.duplicate);
    // Another node's lone XADD is undone, and the next seq is still accepted.
    expect(await lone(id, 3, 'n2')).toBe(APPEND_RESULT.wrongNode);
    expect((await entries(id)).map(([eid]) => eid)).toEqual(['1-0', '2-0']);
    expect(await appendChunk(r.redis, target, chunk(id, 3))).toBe(APPEND_RESULT.stored);
  });

  it('keeps other commands on the connection out of the transaction', async () => {
    const id = await exec();
    const big = Buffer.alloc(300 * 1024, 'a');
    const results = await Promise.all([
      appendChunk(r.redis, target, chunk(id, 1, big)),
      r.redis.set(`cordon:test:${id}`, 'v'),
      appendChunk(r.redis, target, chunk(id, 2, big)),
      r.redis.get(`cordon:test:${id}`),
      appendChunk(r.redis, target, chunk(id, 3)),
    ]);
    expect(results).toEqual([1, 'OK', 1, 'v', 1]);
    expect((await entries(id)).map(([eid]) => eid)).toEqual(['1-0', '2-0', '3-0']);
  });

  it('rejects when the transaction cannot run, storing nothing', async () => {
    const id = await exec();
    await r.redis.set(redisKeys.execOutput(id), 'not a stream');
    await expect(appendChunk(r.redis, target, chunk(id, 1))).rejects.toThrow(/WRONGTYPE/);
    expect(await r.redis.get(redisKeys.execOutput(id))).toBe('not a stream');
    expect(await r.redis.hget(redisKeys.exec(id), 'outSeq')).toBeNull();
  });
});
