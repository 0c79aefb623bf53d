// Full path: @trpc/client → gateway (HTTP + ws) → BullMQ → node agent process (FUSE mount +
// bwrap) → cluster websocket → Redis stream → subscription. Real redis-server, real processes.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createToken, startGateway, type Gateway } from '@cordon/gateway';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type TestClient } from './helpers/client.ts';
import { expectCode } from './helpers/expect.ts';
import { startNodeProcess, type NodeProcess } from './helpers/node-process.ts';
import { collectOutput, textOf } from './helpers/output.ts';
import { startRedisServer, type RedisServer } from './helpers/redis-server.ts';

const CLUSTER_TOKEN = 'test-cluster-token-0123456789abcdef';

let dir: string;
let redisServer: RedisServer;
let redis: Redis;
let gw: Gateway;
let node: NodeProcess;
let alice: TestClient; // tenant a, write
let aliceRead: TestClient; // tenant a, read-only
let bob: TestClient; // tenant b, write
let anon: TestClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cordon-gw-'));
  await chmod(dir, 0o755);
  redisServer = await startRedisServer(dir);
  redis = new Redis({ path: redisServer.path });
  gw = await startGateway({
    redis: { path: redisServer.path },
    clusterToken: CLUSTER_TOKEN,
    janitorIntervalMs: 200,
    maxQueuedPerNode: 1,
    logger: pino({ level: 'silent' }),
  });
  node = await startNodeProcess({
    nodeId: 'n1',
    redisPath: redisServer.path,
    clusterToken: CLUSTER_TOKEN,
    dataDir: join(dir, 'n1'),
    capacity: 1,
  });
  alice = connect(gw, await createToken(redis, { tenantId: 'a', scope: 'write' }));
  aliceRead = connect(gw, await createToken(redis, { tenantId: 'a', scope: 'read' }));
  bob = connect(gw, await createToken(redis, { tenantId: 'b', scope: 'write' }));
  anon = connect(gw, null);
});

afterAll(async () => {
  for (const c of [alice, aliceRead, bob, anon]) await c?.close();
  await node?.kill();
  await gw?.close();
  redis?.disconnect();
  await redisServer?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function newSandbox(c: TestClient = alice) {
  return c.trpc.sandboxes.create.mutate({ preset: 'agent-safe' });
}

describe('gateway', () => {
  it('answers health without a token and lists the live node', async () => {
    const h = await anon.trpc.health.query();
    expect(h).toMatchObject({ ok: true, nodesUp: 1 });
    const nodes = await alice.trpc.nodes.list.query();
    expect(nodes).toEqual([
      expect.objectContaining({ id: 'n1', status: 'up', capacity: 1, load: 0 }),
    ]);
  });

  it('creates a sandbox, runs a command, streams its output in order and waits for the result', async () => {
    const sb = await newSandbox();
    expect(sb).toMatchObject({ state: 'ready', nodeId: 'n1' });
    const script = 'for i in $(seq 1 200); do echo "line $i"; done; echo oops >&2; exit 3';
    const { execId } = await alice.trpc.sandboxes.exec.mutate({
      sandboxId: sb.id,
      argv: ['sh', '-c', script],
    });
    const { events, ids } = await collectOutput(alice, execId);
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(ids).toEqual(seqs.map(String));
    const expected = Array.from({ length: 200 }, (_, i) => `line ${i + 1}\n`).join('');
    expect(textOf(events, 'stdout')).toBe(expected);
    expect(textOf(events, 'stderr')).toBe('oops\n');
    const end = events.at(-1);
    expect(end).toMatchObject({ kind: 'end', outcome: { status: 'exited' } });

    const rec = await alice.trpc.execs.wait.query({ execId });
    expect(rec.status).toBe('exited');
    expect(rec.result).toMatchObject({
      exitCode: 3,
      timedOut: false,
      canceled: false,
      stdoutBytes: Buffer.byteLength(expected),
      stderrBytes: 5,
      truncated: false,
    });
    // After the fact, from scratch: the same stream is replayed from Redis.
    const again = await collectOutput(aliceRead, execId);
    expect(textOf(again.events, 'stdout')).toBe(expected);
  });

  it('resumes a subscription after a last event id with nothing lost or repeated', async () => {
    const sb = await newSandbox();
    const { execId } = await alice.trpc.sandboxes.exec.mutate({
      sandboxId: sb.id,
      argv: ['sh', '-c', 'for i in $(seq 1 50); do echo "n$i"; sleep 0.002; done'],
    });
    const first = await collectOutput(alice, execId, undefined, 5);
    expect(first.events).toHaveLength(5);
    const lastId = first.ids.at(-1) as string;
    const rest = await collectOutput(alice, execId, lastId);
    expect(rest.events[0]?.seq).toBe(Number(lastId) + 1);
    const all = [...first.events, ...rest.events];
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
    const text = textOf(all, 'stdout');
    expect(text).toBe(Array.from({ length: 50 }, (_, i) => `n${i + 1}\n`).join(''));
  });

  it('hides another tenant’s sandboxes and execs behind NOT_FOUND', async () => {
    const sb = await newSandbox();
    const { execId } = await alice.trpc.sandboxes.exec.mutate({ sandboxId: sb.id, argv: ['true'] });
    await alice.trpc.execs.wait.query({ execId });
    await expectCode(bob.trpc.sandboxes.get.query({ sandboxId: sb.id }), 'NOT_FOUND');
    await expectCode(
      bob.trpc.sandboxes.exec.mutate({ sandboxId: sb.id, argv: ['true'] }),
      'NOT_FOUND',
    );
    await expectCode(bob.trpc.sandboxes.destroy.mutate({ sandboxId: sb.id }), 'NOT_FOUND');
    await expectCode(bob.trpc.execs.wait.query({ execId }), 'NOT_FOUND');
    await expectCode(bob.trpc.execs.get.query({ execId }), 'NOT_FOUND');
    await expectCode(bob.trpc.execs.cancel.mutate({ execId }), 'NOT_FOUND');
    await expectCode(collectOutput(bob, execId), 'NOT_FOUND');
    expect((await bob.trpc.sandboxes.list.query()).map((s) => s.id)).not.toContain(sb.id);
    expect((await alice.trpc.sandboxes.list.query()).map((s) => s.id)).toContain(sb.id);
  });

  it('answers NOT_FOUND for unknown ids', async () => {
    await expectCode(alice.trpc.sandboxes.get.query({ sandboxId: 'sb_nope' }), 'NOT_FOUND');
    await expectCode(
      alice.trpc.sandboxes.exec.mutate({ sandboxId: 'sb_nope', argv: ['true'] }),
      'NOT_FOUND',
    );
    await expectCode(alice.trpc.execs.wait.query({ execId: 'ex_nope' }), 'NOT_FOUND');
    await expectCode(collectOutput(alice, 'ex_nope'), 'NOT_FOUND');
  });

  it('refuses bad input with BAD_REQUEST naming the field', async () => {
    const sb = await newSandbox();
    const mem = await expectCode(
      alice.trpc.sandboxes.create.mutate({
        preset: 'agent-safe',
        limits: { memoryBytes: 'lots' as unknown as number },
      }),
      'BAD_REQUEST',
    );
    expect(mem.data.issues?.[0]?.path).toBe('limits.memoryBytes');
    expect(mem.message).toContain('limits.memoryBytes');

    const rule = await expectCode(
      alice.trpc.sandboxes.create.mutate({
        policy: { rules: [{ pattern: '/src/**', permission: 'root' as 'write' }] },
      }),
      'BAD_REQUEST',
    );
    expect(rule.data.issues?.[0]?.path).toBe('policy.rules.0.permission');

    const none = await expectCode(alice.trpc.sandboxes.create.mutate({}), 'BAD_REQUEST');
    expect(none.data.issues?.[0]?.path).toBe('policy');

    const argv = await expectCode(
      alice.trpc.sandboxes.exec.mutate({ sandboxId: sb.id, argv: [] }),
      'BAD_REQUEST',
    );
    expect(argv.data.issues?.[0]?.path).toBe('argv');

    const extra = await expectCode(
      alice.trpc.sandboxes.exec.mutate({
        sandboxId: sb.id,
        argv: ['true'],
        cwd: '/../etc',
      }),
      'BAD_REQUEST',
    );
    expect(extra.data.issues?.[0]?.path).toBe('cwd');

    const big = await expectCode(
      alice.trpc.sandboxes.exec.mutate({ sandboxId: sb.id, argv: ['x'.repeat(200 * 1024)] }),
      'BAD_REQUEST',
    );
    expect(big.data.issues?.[0]?.path).toBe('argv.0');

    await expectCode(alice.trpc.sandboxes.get.query({ sandboxId: 'has spaces' }), 'BAD_REQUEST');
    const resume = await expectCode(collectOutput(alice, 'ex_x', 'not-a-seq'), 'BAD_REQUEST');
    expect(resume.data.issues?.[0]?.path).toBe('lastEventId');
  });

  it('enforces tokens: none or unknown → UNAUTHORIZED, read-only → FORBIDDEN on changes', async () => {
    await expectCode(anon.trpc.sandboxes.list.query(), 'UNAUTHORIZED');
    const forged = connect(gw, 'cdn_forged');
    try {
      await expectCode(forged.trpc.sandboxes.list.query(), 'UNAUTHORIZED');
      await expectCode(collectOutput(forged, 'ex_x'), 'UNAUTHORIZED');
    } finally {
      await forged.close();
    }
    await expectCode(newSandbox(aliceRead), 'FORBIDDEN');
    expect(Array.isArray(await aliceRead.trpc.sandboxes.list.query())).toBe(true);
  });

  it('validates and explains policies', async () => {
    const ok = await alice.trpc.policy.validate.query({ policy: { preset: 'agent-safe' } });
    expect(ok.valid).toBe(true);
    const bad = await alice.trpc.policy.validate.query({
      policy: { rules: [{ pattern: '', permission: 'write' }] },
    });
    expect(bad).toMatchObject({ valid: false, issues: [{ path: 'policy.rules.0.pattern' }] });
    const ex = await alice.trpc.policy.explain.query({
      policy: { rules: [{ pattern: '/src/**', permission: 'write' }] },
      paths: ['/src/a.ts', '/etc/passwd'],
    });
    expect(ex.map((e) => e.level)).toEqual(['write', 'none']);
  });

  it('bounds the queue: beyond capacity + depth answers RESOURCE_EXHAUSTED; cancel frees it', async () => {
    const sb = await newSandbox();
    const run = (argv: string[]) => alice.trpc.sandboxes.exec.mutate({ sandboxId: sb.id, argv });
    const running = await run(['sh', '-c', 'echo started; exec sleep 30']);
    const queued = await run(['sleep', '30']);
    await expectCode(run(['true']), 'RESOURCE_EXHAUSTED');
    // The first exec has started its command (not only been queued or claimed): canceling it
    // must kill a running command, whatever the load on the machine.
    const first = await collectOutput(alice, running.execId, undefined, 1);
    expect(textOf(first.events, 'stdout')).toBe('started\n');

    const c1 = await alice.trpc.execs.cancel.mutate({ execId: queued.execId });
    expect(c1.status).toBe('canceled');
    await alice.trpc.execs.cancel.mutate({ execId: running.execId });
    const r = await alice.trpc.execs.wait.query({ execId: running.execId, waitMs: 20_000 });
    expect(r).toMatchObject({ status: 'canceled', result: { canceled: true } });
    const after = await run(['true']);
    expect((await alice.trpc.execs.wait.query({ execId: after.execId })).status).toBe('exited');
  });

  it('destroys sandboxes; their execs are refused with CONFLICT', async () => {
    const sb = await newSandbox();
    const d = await alice.trpc.sandboxes.destroy.mutate({ sandboxId: sb.id });
    expect(d.state).toBe('destroyed');
    await expectCode(
      alice.trpc.sandboxes.exec.mutate({ sandboxId: sb.id, argv: ['true'] }),
      'CONFLICT',
    );
  });

  // Last: it kills the only node.
  it('fails a running exec with NODE_LOST when its node dies, and marks the sandbox lost', async () => {
    const sb = await newSandbox();
    const { execId } = await alice.trpc.sandboxes.exec.mutate({
      sandboxId: sb.id,
      argv: ['sh', '-c', 'echo started; sleep 60'],
    });
    const first = await collectOutput(alice, execId, undefined, 1);
    expect(textOf(first.events, 'stdout')).toBe('started\n');
    const subscribed = collectOutput(alice, execId, first.ids[0]);
    await node.kill();

    // Bounded: heartbeat TTL 1 s + janitor 200 ms; the call itself gives up after 20 s.
    const lost = await expectCode(
      alice.trpc.execs.wait.query({ execId, waitMs: 20_000 }),
      'NODE_LOST',
    );
    expect(lost.message).toContain('n1');
    const { events } = await subscribed;
    expect(events.at(-1)).toMatchObject({
      kind: 'end',
      outcome: { status: 'failed', error: { code: 'NODE_LOST' } },
    });
    expect((await alice.trpc.sandboxes.get.query({ sandboxId: sb.id })).state).toBe('lost');
    const nodes = await alice.trpc.nodes.list.query();
    expect(nodes.find((n) => n.id === 'n1')?.status).toBe('down');
    await expectCode(
      alice.trpc.sandboxes.exec.mutate({ sandboxId: sb.id, argv: ['true'] }),
      'NODE_LOST',
    );
    await expectCode(newSandbox(), 'RESOURCE_EXHAUSTED');
  });
});
