// Operator and REST surface of a real gateway on a real redis-server: /healthz, /readyz,
// /metrics, Bull Board behind the admin token, /openapi.json + generated REST routes, token
// administration, and gateway memory with a paused output subscriber.
import { request, type IncomingMessage } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createToken, startGateway, type AppRouter, type Gateway } from '@cordon/gateway';
import { createTRPCClient, httpLink } from '@trpc/client';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finalizeExec } from '../../src/state/execs.ts';
import { expectCode } from '../helpers/expect.ts';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.ts';
import { connectNode, heartbeat, runningExec } from './synthetic-node.ts';

const CLUSTER_TOKEN = 'test-cluster-token-0123456789abcdef';
const ADMIN_TOKEN = 'cdn_test-admin-token-0123456789abcdef';
const MiB = 1024 * 1024;

let dir: string;
let redisServer: RedisServer;
let redis: Redis;
let gw: Gateway;
let writeToken: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cordon-gw-ops-'));
  redisServer = await startRedisServer(dir);
  redis = new Redis({ path: redisServer.path });
  gw = await startGateway({
    redis: { path: redisServer.path },
    clusterToken: CLUSTER_TOKEN,
    adminToken: ADMIN_TOKEN,
    adminTenantId: 'ops',
    logger: pino({ level: 'silent' }),
  });
  writeToken = await createToken(redis, { tenantId: 'a', scope: 'write', name: 'alice' });
});

afterAll(async () => {
  await gw?.close();
  redis?.disconnect();
  await redisServer?.stop();
  await rm(dir, { recursive: true, force: true });
});

function get(path: string, headers: Record<string, string> = {}) {
  return fetch(`${gw.baseUrl}${path}`, { headers });
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

function trpc(token: string) {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: gw.httpUrl, headers: bearer(token) })],
  });
}

async function metric(name: string, labels = ''): Promise<number> {
  const text = await (await get('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

describe('health and readiness', () => {
  it('answers /healthz while the process is up, /readyz only with Redis and a live node', async () => {
    const h = await get('/healthz');
    expect(h.status).toBe(200);
    expect(h.headers.get('x-request-id')).toMatch(/\S/);

    const notReady = await get('/readyz');
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ ready: false, redis: 'ok', nodesUp: 0 });

    await heartbeat(redis, 'n-ready', 60_000);
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, nodesUp: 1 });

    await redis.del('cordon:node:n-ready:alive');
    expect((await get('/readyz')).status).toBe(503);
  });

  it('echoes a caller-supplied request id', async () => {
    const r = await get('/healthz', { 'x-request-id': 'req-123' });
    expect(r.headers.get('x-request-id')).toBe('req-123');
  });
});

describe('metrics', () => {
  it('exposes queue depth, exec latency, sandboxes, denials and output bytes', async () => {
    await heartbeat(redis, 'n-metrics', 60_000);
    const r = await get('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain');
    const text = await r.text();
    for (const name of [
      'cordon_queue_depth{node="n-metrics",queue="exec",state="waiting"} 0',
      'cordon_sandboxes_active{node="n-metrics"} 0',
      'cordon_node_up{node="n-metrics"} 1',
      '# TYPE cordon_exec_duration_seconds histogram',
      '# TYPE cordon_denials_total counter',
      '# TYPE cordon_output_bytes_total counter',
      'cordon_output_buffered_bytes{where="to_clients"}',
      'cordon_gateway_process_resident_memory_bytes',
    ]) {
      expect(text).toContain(name);
    }
  });
});

describe('Bull Board', () => {
  it('is served at /admin/queues to admin tokens only', async () => {
    const anon = await get('/admin/queues');
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toContain('Basic');
    expect((await get('/admin/queues', bearer('cdn_unknown'))).status).toBe(401);
    expect((await get('/admin/queues', bearer(writeToken))).status).toBe(403);

    const ok = await get('/admin/queues', bearer(ADMIN_TOKEN));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('<html');
    const basic = Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64');
    const api = await get('/admin/queues/api/queues', { authorization: `Basic ${basic}` });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name)).toContain('cordon-node-n-metrics');
  });
});

describe('REST surface', () => {
  it('serves an OpenAPI 3.1 document generated from the router', async () => {
    const r = await get('/openapi.json');
    expect(r.status).toBe(200);
    const doc = (await r.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components?: { securitySchemes?: Record<string, unknown> };
    };
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.paths['/v1/health']).toHaveProperty('get');
    expect(doc.paths['/v1/tokens/create']).toHaveProperty('post');
    expect(doc.paths['/v1/tokens/list']).toBeDefined();
    expect(doc.paths['/v1/execs/{execId}/output']).toHaveProperty('get');
    expect(doc.paths['/v1/execs/output']).toBeUndefined(); // a subscription: not REST
    expect(Object.keys(doc.components?.securitySchemes ?? {})).not.toHaveLength(0);
  });

  it('answers REST calls with a bearer token, with the same auth and errors as tRPC', async () => {
    const health = await get('/v1/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true });

    expect((await get('/v1/nodes/list')).status).toBe(401);
    const nodes = await get('/v1/nodes/list', bearer(writeToken));
    expect(nodes.status).toBe(200);
    expect(Array.isArray(await nodes.json())).toBe(true);

    const created = await fetch(`${gw.baseUrl}/v1/tokens/create`, {
      method: 'POST',
      headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'read', name: 'via rest', tenantId: 'a' }),
    });
    expect(created.status).toBe(200);
    const tok = (await created.json()) as { token: string; id: string };
    expect(tok.token).toMatch(/^cdn_/);

    const forbidden = await fetch(`${gw.baseUrl}/v1/tokens/create`, {
      method: 'POST',
      headers: { ...bearer(writeToken), 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'admin' }),
    });
    expect(forbidden.status).toBe(403);
    const bad = await fetch(`${gw.baseUrl}/v1/tokens/create`, {
      method: 'POST',
      headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'root' }),
    });
    expect(bad.status).toBe(400);
  });
});

describe('tokens', () => {
  it('creates (secret shown once), lists without secrets, and revokes', async () => {
    const admin = trpc(ADMIN_TOKEN);
    const made = await admin.tokens.create.mutate({ tenantId: 'b', scope: 'write', name: 'ci' });
    expect(made).toMatchObject({ tenantId: 'b', scope: 'write', name: 'ci' });
    expect(made.token).toMatch(/^cdn_/);

    const listed = await admin.tokens.list.query({ tenantId: 'b' });
    expect(listed).toEqual([
      { id: made.id, name: 'ci', scope: 'write', tenantId: 'b', createdAtMs: made.createdAtMs },
    ]);
    const all = JSON.stringify(await admin.tokens.list.query());
    expect(all).not.toContain(made.token);
    expect(all).not.toContain(ADMIN_TOKEN);
    expect(all).toContain('admin (configured)');

    const asB = trpc(made.token);
    await expect(asB.nodes.list.query()).resolves.toBeInstanceOf(Array);
    await expectCode(asB.tokens.list.query(), 'FORBIDDEN');

    expect(await admin.tokens.revoke.mutate({ id: made.id })).toEqual({ revoked: true });
    expect(await admin.tokens.revoke.mutate({ id: made.id })).toEqual({ revoked: false });
    await expectCode(asB.nodes.list.query(), 'UNAUTHORIZED');
    expect(await admin.tokens.list.query({ tenantId: 'b' })).toEqual([]);
    await expectCode(admin.tokens.revoke.mutate({ id: 'nope' }), 'BAD_REQUEST');
  });
});

describe('output backpressure', () => {
  it('holds a bounded number of bytes for a paused subscriber while the node keeps producing', async () => {
    const total = 48 * MiB;
    const execId = 'ex_paused';
    await heartbeat(redis, 'n-stream', 60_000);
    await runningExec(redis, { execId, tenantId: 'a', nodeId: 'n-stream' });
    const node = await connectNode(gw.clusterUrl, CLUSTER_TOKEN, 'n-stream');

    // A raw-output reader that stops reading after its first bytes.
    let received = 0;
    let res: IncomingMessage | undefined;
    const done = new Promise<void>((resolve, reject) => {
      const req = request(`${gw.baseUrl}/v1/execs/${execId}/output?format=raw`, {
        headers: bearer(writeToken),
      });
      req.on('response', (r) => {
        res = r;
        expect(r.statusCode).toBe(200);
        r.on('data', (b: Buffer) => {
          if (received === 0) r.pause();
          for (const byte of [b[0], b[b.length - 1]]) if (byte !== 7) reject(new Error('bad byte'));
          received += b.length;
        });
        r.on('end', () => resolve());
        r.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });

    const bufferedSamples: number[] = [];
    let streaming = true;
    const sampler = (async () => {
      while (streaming) {
        bufferedSamples.push(
          (await metric('cordon_output_buffered_bytes', '{where="to_clients"}')) +
            (await metric('cordon_output_buffered_bytes', '{where="to_redis"}')),
        );
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await node.stream(execId, total, 7);
    streaming = false;
    await sampler;

    // Everything is stored in Redis; the gateway holds only the subscriber's window.
    expect(await redis.xlen(`cordon:exec:${execId}:out`)).toBe(total / (64 * 1024));
    expect(received).toBeLessThan(8 * MiB);
    expect(bufferedSamples.length).toBeGreaterThan(0);
    expect(Math.max(...bufferedSamples)).toBeLessThan(8 * MiB);

    await finalizeExec(
      redis,
      { id: execId, nodeId: 'n-stream' },
      { status: 'canceled', result: null, error: null },
      60_000,
    );
    res?.resume();
    await done;
    expect(received).toBe(total);
    expect(
      await metric('cordon_output_bytes_total', '{direction="stored"}'),
    ).toBeGreaterThanOrEqual(total);
    node.close();
  });
});
