// Two node agent processes (separate data dirs and uid ranges) behind a gateway on real
// redis-server: placement of new codebases, affinity of sandboxes, tar upload and export over
// HTTP, kill -9 of a node during an exec (NODE_LOST), its restart (sandboxes back, with their
// delta), and a gateway restart in the middle of a stream (the client resumes, nothing lost).
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createToken, startGateway, type Gateway } from '@cordon/gateway';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type TestClient } from './helpers/client.ts';
import { expectCode } from './helpers/expect.ts';
import { startNodeProcess, type NodeEnv, type NodeProcess } from './helpers/node-process.ts';
import { collectOutput, textOf } from './helpers/output.ts';
import { startRedisServer, type RedisServer } from './helpers/redis-server.ts';
import { getTar, originOf, putTar, tarNames, tarOf } from './helpers/tar-http.ts';

const CLUSTER_TOKEN = 'cluster-test-token-0123456789abcdef';

let dir: string;
let redisServer: RedisServer;
let redis: Redis;
let gw: Gateway;
let token: string;
let c: TestClient;
const nodes = new Map<string, NodeProcess>();
const nodeEnv = new Map<string, NodeEnv>();

const gatewayOpts = (port = 0) => ({
  createTimeoutMs: 10_000,
  redis: { path: redisServer.path },
  clusterToken: CLUSTER_TOKEN,
  port,
  janitorIntervalMs: 200,
  logger: pino({ level: 'silent' }),
});

async function startNode(id: string, capacity: number, uidBase: number): Promise<NodeProcess> {
  const env: NodeEnv = nodeEnv.get(id) ?? {
    nodeId: id,
    redisPath: redisServer.path,
    clusterToken: CLUSTER_TOKEN,
    dataDir: join(dir, id),
    capacity,
    uidBase,
    allowPaths: [join(dir, 'host')],
  };
  nodeEnv.set(id, env);
  const n = await startNodeProcess(env);
  nodes.set(id, n);
  return n;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cordon-cluster-'));
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'host', 'proj'), { recursive: true });
  await writeFile(join(dir, 'host', 'proj', 'README.md'), '# host project\n');
  redisServer = await startRedisServer(dir);
  redis = new Redis({ path: redisServer.path });
  gw = await startGateway(gatewayOpts());
  // n2 has more free capacity: new codebases go there.
  await Promise.all([startNode('n1', 1, 2_300_000), startNode('n2', 3, 2_301_000)]);
  token = await createToken(redis, { tenantId: 'a', scope: 'write' });
  c = connect(gw, token);
}, 60_000);

afterAll(async () => {
  await c?.close();
  for (const n of nodes.values()) await n.kill();
  await gw?.close();
  redis?.disconnect();
  await redisServer?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function runText(sandboxId: string, script: string) {
  const { execId } = await c.trpc.sandboxes.exec.mutate({ sandboxId, argv: ['sh', '-c', script] });
  const { events } = await collectOutput(c, execId);
  const rec = await c.trpc.execs.wait.query({ execId });
  return { rec, stdout: textOf(events, 'stdout'), stderr: textOf(events, 'stderr') };
}

describe('cluster', () => {
  let uploadedId: string;

  it('places new codebases on the node with most free capacity; sandboxes follow their codebase', async () => {
    const up = await c.trpc.codebases.create.mutate({ source: { kind: 'upload' }, name: 'up' });
    expect(up).toMatchObject({
      nodeId: 'n2',
      state: 'creating',
      uploadPath: `/v1/codebases/${up.id}/tar`,
    });
    uploadedId = up.id;
    const onN1 = await c.trpc.codebases.create.mutate({
      source: { kind: 'path', path: join(dir, 'host', 'proj'), nodeId: 'n1' },
    });
    expect(onN1).toMatchObject({ nodeId: 'n1', state: 'ready' });
    const sb1 = await c.trpc.sandboxes.create.mutate({ codebaseId: onN1.id, preset: 'read-only' });
    expect(sb1.nodeId).toBe('n1');
    expect((await runText(sb1.id, 'cat README.md')).stdout).toBe('# host project\n');
    // A sandbox cannot be placed on a codebase that has no content yet.
    await expectCode(
      c.trpc.sandboxes.create.mutate({ codebaseId: up.id, preset: 'read-only' }),
      'CONFLICT',
    );
    // Unknown codebase, or one with live sandboxes, cannot be deleted.
    await expectCode(c.trpc.codebases.delete.mutate({ codebaseId: 'cb_nope' }), 'NOT_FOUND');
    await expectCode(c.trpc.codebases.delete.mutate({ codebaseId: onN1.id }), 'CONFLICT');
    await c.trpc.sandboxes.destroy.mutate({ sandboxId: sb1.id });
    expect((await c.trpc.codebases.delete.mutate({ codebaseId: onN1.id })).state).toBe('deleted');
  });

  it('uploads a tar stream over HTTP (bad archives refused, retry allowed) and exports it back', async () => {
    const origin = originOf(gw.httpUrl);
    const path = `/v1/codebases/${uploadedId}/tar`;
    expect((await putTar(origin, path, 'cdn_wrong', Buffer.alloc(10))).status).toBe(401);
    const bad = await putTar(
      origin,
      path,
      token,
      Buffer.from('this is not a tar archive'.repeat(40)),
    );
    expect(bad.status).toBe(400);
    expect(bad.json<{ error: { code: string } }>().error.code).toBe('BAD_REQUEST');

    const src = join(dir, 'src-upload');
    await mkdir(join(src, 'lib'), { recursive: true });
    await writeFile(join(src, 'lib', 'a.txt'), 'alpha\n');
    await writeFile(join(src, 'big.bin'), Buffer.alloc(3 * 1024 * 1024, 7));
    const ok = await putTar(origin, path, token, tarOf(src));
    expect(ok.status).toBe(200);
    expect(ok.json()).toMatchObject({ id: uploadedId, state: 'ready', nodeId: 'n2' });
    // Once ready it takes no second upload.
    expect((await putTar(origin, path, token, tarOf(src))).status).toBe(409);

    const sb = await c.trpc.sandboxes.create.mutate({
      codebaseId: uploadedId,
      preset: 'development',
    });
    expect(sb.nodeId).toBe('n2');
    const r = await runText(sb.id, 'cat lib/a.txt; wc -c < big.bin; echo new > lib/b.txt');
    expect(r.stdout).toBe(`alpha\n${3 * 1024 * 1024}\n`);
    expect(r.rec.result?.commit).toMatchObject({ committed: true, added: 1 });

    const exported = await getTar(origin, path, token);
    expect(exported.status).toBe(200);
    const names = await tarNames(exported.body);
    expect(names).toEqual(expect.arrayContaining(['./lib/a.txt', './lib/b.txt', './big.bin']));
    // Another tenant's codebase answers 404 on the HTTP routes too.
    const bob = await createToken(redis, { tenantId: 'b', scope: 'write' });
    expect((await getTar(origin, path, bob)).status).toBe(404);
  });

  it('refuses tar members that escape the codebase', async () => {
    const origin = originOf(gw.httpUrl);
    const cb = await c.trpc.codebases.create.mutate({ source: { kind: 'upload' } });
    const evil = join(dir, 'evil');
    await mkdir(join(evil, 'x'), { recursive: true });
    await writeFile(join(evil, 'x', 'f'), 'pwned\n');
    // GNU tar stores '../' prefixes with -P; the node must refuse them.
    const { spawn } = await import('node:child_process');
    const child = spawn('tar', ['-c', '-P', '-C', join(evil, 'x'), '../x/f'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const res = await putTar(origin, `/v1/codebases/${cb.id}/tar`, token, child.stdout);
    expect(res.status).toBe(400);
    expect(res.json<{ error: { message: string } }>().error.message).toContain("'..'");
  });

  it('fails an exec with NODE_LOST when its node is killed, and brings the sandbox back on restart', async () => {
    const sb = await c.trpc.sandboxes.create.mutate({
      codebaseId: uploadedId,
      preset: 'development',
      commit: 'never',
    });
    await runText(sb.id, 'echo uncommitted > pending.txt');
    const { execId } = await c.trpc.sandboxes.exec.mutate({
      sandboxId: sb.id,
      argv: ['sh', '-c', 'echo started; sleep 60'],
    });
    const first = await collectOutput(c, execId, undefined, 1);
    expect(textOf(first.events, 'stdout')).toBe('started\n');
    await (nodes.get('n2') as NodeProcess).kill();
    const lost = await expectCode(c.trpc.execs.wait.query({ execId, waitMs: 20_000 }), 'NODE_LOST');
    expect(lost.message).toContain('n2');
    expect((await c.trpc.sandboxes.get.query({ sandboxId: sb.id })).state).toBe('lost');
    expect((await c.trpc.codebases.get.query({ codebaseId: uploadedId })).state).toBe('lost');
    await expectCode(
      c.trpc.sandboxes.exec.mutate({ sandboxId: sb.id, argv: ['true'] }),
      'NODE_LOST',
    );

    const n2 = await startNode('n2', 3, 2_301_000);
    expect(n2.ready.recovery?.sandboxesRecovered).toBeGreaterThanOrEqual(1);
    expect((await c.trpc.sandboxes.get.query({ sandboxId: sb.id })).state).toBe('ready');
    expect((await c.trpc.codebases.get.query({ codebaseId: uploadedId })).state).toBe('ready');
    // The killed exec stays failed (never run again); the delta survived the crash.
    expect((await c.trpc.execs.get.query({ execId })).status).toBe('failed');
    expect((await runText(sb.id, 'cat pending.txt')).stdout).toBe('uncommitted\n');
  });

  it('survives a gateway restart during a stream: the client resumes from its last seq', async () => {
    const sb = await c.trpc.sandboxes.create.mutate({ preset: 'development' });
    const { execId } = await c.trpc.sandboxes.exec.mutate({
      sandboxId: sb.id,
      argv: ['sh', '-c', 'for i in $(seq 1 40); do echo "n$i"; sleep 0.05; done'],
    });
    const first = await collectOutput(c, execId, undefined, 3);
    const lastId = first.ids.at(-1) as string;
    const port = gw.port;
    await c.close();
    await gw.close();
    gw = await startGateway(gatewayOpts(port));
    c = connect(gw, token);
    const rest = await collectOutput(c, execId, lastId);
    const all = [...first.events, ...rest.events];
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
    expect(textOf(all, 'stdout')).toBe(
      Array.from({ length: 40 }, (_, i) => `n${i + 1}\n`).join(''),
    );
    expect((await c.trpc.execs.wait.query({ execId })).status).toBe('exited');
  });
});
