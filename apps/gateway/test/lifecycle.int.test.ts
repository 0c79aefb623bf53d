// Sandbox and exec lifecycle edges through the full path (real redis-server, gateway, node agent
// processes): execs.cancel stops a running handler; a lost sandbox can be destroyed and its node
// cleans it up when it is back (paused and resumed, or restarted) instead of resurrecting it; the
// idle timeout destroys an unused sandbox.
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createToken, startGateway, type Gateway } from '@cordon/gateway';
import { redisKeys } from '@cordon/protocol';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type TestClient } from './helpers/client.ts';
import { expectCode } from './helpers/expect.ts';
import { startNodeProcess, type NodeProcess } from './helpers/node-process.ts';
import { startRedisServer, type RedisServer } from './helpers/redis-server.ts';

const CLUSTER_TOKEN = 'test-cluster-token-0123456789abcdef';

let dir: string;
let redisServer: RedisServer;
let redis: Redis;
let gw: Gateway;
let node: NodeProcess;
let c: TestClient;

const startNode = () =>
  startNodeProcess({
    nodeId: 'n1',
    redisPath: redisServer.path,
    clusterToken: CLUSTER_TOKEN,
    dataDir: join(dir, 'n1'),
    uidBase: 2_500_000,
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cordon-life-'));
  await chmod(dir, 0o755);
  redisServer = await startRedisServer(dir);
  redis = new Redis({ path: redisServer.path });
  gw = await startGateway({
    redis: { path: redisServer.path },
    clusterToken: CLUSTER_TOKEN,
    janitorIntervalMs: 200,
    logger: pino({ level: 'silent' }),
  });
  node = await startNode();
  c = connect(gw, await createToken(redis, { tenantId: 'a', scope: 'write' }));
}, 60_000);

afterAll(async () => {
  if (node) {
    try {
      process.kill(node.pid, 'SIGCONT');
    } catch {
      // gone
    }
  }
  await c?.close();
  // Graceful: the agent closes sessions and unmounts, so nothing of it writes into `dir` later.
  await node?.stop();
  await gw?.close();
  redis?.disconnect();
  await redisServer?.stop();
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

const sandboxDir = (id: string) => join(dir, 'n1', 'sandboxes', id);
const stateOf = async (id: string) => (await c.trpc.sandboxes.get.query({ sandboxId: id })).state;

async function waitNodeUp(up: boolean) {
  await expect
    .poll(async () => (await c.trpc.health.query()).nodesUp, { timeout: 15_000 })
    .toBe(up ? 1 : 0);
}

describe('lifecycle', () => {
  it('execs.cancel stops a running handler: its process is killed, the exec ends canceled', async () => {
    const sb = await c.trpc.sandboxes.create.mutate({ preset: 'agent-safe' });
    const call = c.trpc.sandboxes.handler
      .mutate({
        sandboxId: sb.id,
        language: 'python',
        code: 'import time\ndef handler(e):\n    time.sleep(300)\n',
        timeoutMs: 600_000,
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    // The handler's exec id is only answered at the end; find it among the node's pending execs.
    let execId = '';
    await expect
      .poll(
        async () => {
          for (const id of await redis.smembers(redisKeys.nodeExecs('n1'))) {
            if ((await redis.hget(redisKeys.exec(id), 'status')) === 'running') execId = id;
          }
          return execId;
        },
        { timeout: 15_000 },
      )
      .not.toBe('');
    await c.trpc.execs.cancel.mutate({ execId });
    const rec = await c.trpc.execs.wait.query({ execId, waitMs: 30_000 });
    expect(rec.status).toBe('canceled');
    expect(rec.result?.canceled).toBe(true);
    expect(rec.result?.handler?.error).toMatchObject({ type: 'Canceled' });
    expect(await call).toMatchObject({ data: { cordonCode: 'CONFLICT' } });
    // The sandbox keeps working afterwards.
    const ok = await c.trpc.sandboxes.handler.mutate({
      sandboxId: sb.id,
      language: 'python',
      code: 'def handler(e):\n    return e\n',
      event: 5,
    });
    expect(ok.result).toBe(5);
    await c.trpc.sandboxes.destroy.mutate({ sandboxId: sb.id });
  });

  it('destroys a lost sandbox; the node, once back, removes it instead of resurrecting it', async () => {
    const sb = await c.trpc.sandboxes.create.mutate({ preset: 'agent-safe' });
    const keep = await c.trpc.sandboxes.create.mutate({ preset: 'agent-safe' });
    expect(existsSync(sandboxDir(sb.id))).toBe(true);

    // Cut off without dying: heartbeats stop, the janitor marks its sandboxes lost.
    process.kill(node.pid, 'SIGSTOP');
    await waitNodeUp(false);
    await expect.poll(() => stateOf(sb.id), { timeout: 15_000 }).toBe('lost');
    const destroyed = await c.trpc.sandboxes.destroy.mutate({ sandboxId: sb.id });
    expect(destroyed.state).toBe('destroyed');
    // Idempotent, and a destroyed sandbox takes no work.
    expect((await c.trpc.sandboxes.destroy.mutate({ sandboxId: sb.id })).state).toBe('destroyed');
    await expectCode(
      c.trpc.sandboxes.exec.mutate({ sandboxId: sb.id, argv: ['true'] }),
      'CONFLICT',
    );

    process.kill(node.pid, 'SIGCONT');
    await waitNodeUp(true);
    await expect.poll(() => existsSync(sandboxDir(sb.id)), { timeout: 15_000 }).toBe(false);
    expect(await stateOf(sb.id)).toBe('destroyed');

    // Crash and restart with the data dir: `keep` comes back, a sandbox destroyed while the node
    // was down is removed by the restarted node's recovery.
    const gone = await c.trpc.sandboxes.create.mutate({ preset: 'agent-safe' });
    await node.kill();
    await waitNodeUp(false);
    await expect.poll(() => stateOf(gone.id), { timeout: 15_000 }).toBe('lost');
    expect((await c.trpc.sandboxes.destroy.mutate({ sandboxId: gone.id })).state).toBe('destroyed');
    node = await startNode();
    expect(node.ready.recovery).toMatchObject({ sandboxesRemoved: 1, sandboxesRecovered: 1 });
    expect(existsSync(sandboxDir(gone.id))).toBe(false);
    // Its cgroup, left by the killed agent, too (v1 here: one per controller; v2: one).
    for (const root of ['/sys/fs/cgroup/pids', '/sys/fs/cgroup/memory', '/sys/fs/cgroup']) {
      expect(existsSync(`${root}/cordon/n1/${gone.id}`)).toBe(false);
      if (existsSync(`${root}/cordon/n1`))
        expect(existsSync(`${root}/cordon/n1/${keep.id}`)).toBe(true);
    }
    expect(await stateOf(gone.id)).toBe('destroyed');
    expect(await stateOf(keep.id)).toBe('ready');
    await c.trpc.sandboxes.destroy.mutate({ sandboxId: keep.id });
  });

  it('destroys a sandbox after idleTimeoutMs without use', async () => {
    const sb = await c.trpc.sandboxes.create.mutate({ preset: 'agent-safe', idleTimeoutMs: 1_000 });
    expect(sb.state).toBe('ready');
    await expect.poll(() => stateOf(sb.id), { timeout: 15_000 }).toBe('destroyed');
    const rec = await c.trpc.sandboxes.get.query({ sandboxId: sb.id });
    expect(rec.error).toMatchObject({ code: 'TIMEOUT' });
    expect(rec.error?.message).toMatch(/idleTimeoutMs/);
    await expect.poll(() => existsSync(sandboxDir(sb.id)), { timeout: 15_000 }).toBe(false);
    await expectCode(
      c.trpc.sandboxes.exec.mutate({ sandboxId: sb.id, argv: ['true'] }),
      'CONFLICT',
    );
  });
});
