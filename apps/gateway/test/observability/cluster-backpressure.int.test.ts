// The node → gateway leg holds bounded memory even when a node ignores its window and Redis
// stalls: the gateway stops reading the node's socket. Real redis-server, real websocket.
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeChunkFrame, NODE_ID_HEADER } from '@cordon/protocol';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ClusterEndpoint } from '../../src/output/cluster-endpoint.ts';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.ts';
import { runningExec } from './synthetic-node.ts';

const TOKEN = 'test-cluster-token-0123456789abcdef';
const MiB = 1024 * 1024;

let dir: string;
let redisServer: RedisServer;
let redis: Redis;
let server: Server;
let endpoint: ClusterEndpoint;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cordon-gw-cluster-'));
  redisServer = await startRedisServer(dir);
  redis = new Redis({ path: redisServer.path });
  endpoint = new ClusterEndpoint({
    redis,
    clusterToken: TOKEN,
    streamMaxEntries: 100_000,
    execTtlMs: 60_000,
    maxInflightBytes: 1 * MiB,
    log: pino({ level: 'silent' }),
  });
  server = createServer();
  server.on('upgrade', (req, socket, head) => endpoint.handleUpgrade(req, socket, head));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/cluster`;
});

afterAll(async () => {
  endpoint?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  redis?.disconnect();
  await redisServer?.stop();
  await rm(dir, { recursive: true, force: true });
});

it('stops reading a flooding node while Redis is stalled, then stores everything in order', async () => {
  const execId = 'ex_flood';
  await runningExec(redis, { execId, tenantId: 't', nodeId: 'flood' });
  const ws = new WebSocket(url, {
    headers: { authorization: `Bearer ${TOKEN}`, [NODE_ID_HEADER]: 'flood' },
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  // Redis answers no write for 1.5 s; the node sends 32 MiB without waiting for acks.
  const pauser = new Redis({ path: redisServer.path });
  await pauser.call('CLIENT', 'PAUSE', '1500', 'WRITE');
  const frames = 512;
  const data = Buffer.alloc(64 * 1024, 1);
  for (let seq = 1; seq <= frames; seq++) {
    ws.send(encodeChunkFrame({ execId, seq, stream: 'stdout', data }));
  }
  await new Promise((r) => setTimeout(r, 700));
  // The flood is real (most of it still queued at the node) but the gateway holds ~1 MiB.
  expect(ws.bufferedAmount).toBeGreaterThan(8 * MiB);
  expect(endpoint.inflightBytes).toBeGreaterThan(0);
  expect(endpoint.inflightBytes).toBeLessThan(3 * MiB);

  const key = `cordon:exec:${execId}:out`;
  for (let i = 0; i < 200 && (await redis.xlen(key)) < frames; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(await redis.xlen(key)).toBe(frames);
  expect(endpoint.peakInflightBytes).toBeLessThan(3 * MiB);
  const ids = (await redis.xrange(key, '-', '+')).map(([id]) => id);
  expect(ids).toEqual(Array.from({ length: frames }, (_, i) => `${i + 1}-0`));
  ws.terminate();
  pauser.disconnect();
});

it('refuses a chunk that skips a seq, so a lost write is resent rather than silently skipped', async () => {
  const execId = 'ex_gap';
  await runningExec(redis, { execId, tenantId: 't', nodeId: 'gap' });
  const ws = new WebSocket(url, {
    headers: { authorization: `Bearer ${TOKEN}`, [NODE_ID_HEADER]: 'gap' },
  });
  await new Promise<void>((resolve) => ws.once('open', () => resolve()));
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  const data = Buffer.from('x');
  ws.send(encodeChunkFrame({ execId, seq: 1, stream: 'stdout', data }));
  ws.send(encodeChunkFrame({ execId, seq: 3, stream: 'stdout', data }));
  expect(await closed).toBe(1011);
  expect(await redis.xlen(`cordon:exec:${execId}:out`)).toBe(1);
});
