// The node worker in-process with the interim executor, behind a real gateway and redis-server:
// large and capped output, limits, stdin/env/cwd, policy hash refusal, graceful shutdown.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createToken, startGateway, type AppRouter, type Gateway } from '@cordon/gateway';
import { compilePolicy } from '@cordon/policy';
import {
  BULL_PREFIX,
  jobId,
  MAX_CHUNK_BYTES,
  nodeControlQueueName,
  redisKeys,
  type OutputEvent,
} from '@cordon/protocol';
import { createTRPCClient, createWSClient, httpBatchLink, splitLink, wsLink } from '@trpc/client';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InterimExecutor, startNodeWorker, type NodeWorker } from '../../src/worker/index.ts';

const CLUSTER_TOKEN = 'worker-test-cluster-token-0123456789';

let dir: string;
let redisPid: number;
let redisExited: Promise<void>;
let redis: Redis;
let gw: Gateway;
let worker: NodeWorker;
let ws: ReturnType<typeof createWSClient>;
let trpc: ReturnType<typeof createTRPCClient<AppRouter>>;

async function startRedis(): Promise<string> {
  const path = join(dir, 'r.sock');
  const child = spawn(
    '/usr/bin/redis-server',
    ['--port', '0', '--unixsocket', path, '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  if (child.pid === undefined) throw new Error('redis-server did not start');
  redisPid = child.pid;
  redisExited = new Promise((r) => child.once('exit', () => r()));
  for (let i = 0; i < 200 && !existsSync(path); i++) await sleep(25);
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cordon-worker-'));
  const path = await startRedis();
  redis = new Redis({ path });
  gw = await startGateway({
    redis: { path },
    clusterToken: CLUSTER_TOKEN,
    janitorIntervalMs: 200,
    logger: pino({ level: 'silent' }),
  });
  worker = await startNodeWorker({
    nodeId: 'w1',
    redis: { path },
    clusterToken: CLUSTER_TOKEN,
    executor: new InterimExecutor({ dataDir: join(dir, 'w1') }),
    capacity: 2,
    heartbeatIntervalMs: 200,
    heartbeatTtlMs: 1_000,
    // A small window makes the node wait for acks many times during one exec.
    linkWindowBytes: 128 * 1024,
    logger: pino({ level: 'silent' }),
  });
  const token = await createToken(redis, { tenantId: 't', scope: 'write' });
  ws = createWSClient({ url: gw.wsUrl, connectionParams: { token } });
  trpc = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink({ client: ws }),
        false: httpBatchLink({ url: gw.httpUrl, headers: { authorization: `Bearer ${token}` } }),
      }),
    ],
  });
});

afterAll(async () => {
  await ws?.close();
  await worker?.close({ graceful: false });
  await gw?.close();
  redis?.disconnect();
  if (redisPid) process.kill(redisPid, 'SIGKILL');
  await redisExited;
  await rm(dir, { recursive: true, force: true });
});

function output(execId: string): Promise<OutputEvent[]> {
  return new Promise((resolve, reject) => {
    const events: OutputEvent[] = [];
    const sub = trpc.execs.output.subscribe(
      { execId, lastEventId: null },
      {
        onData: ({ data }) => {
          events.push(data);
          if (data.kind === 'end') {
            sub.unsubscribe();
            resolve(events);
          }
        },
        onError: reject,
      },
    );
  });
}

function bytesOf(events: readonly OutputEvent[], stream: 'stdout' | 'stderr'): Buffer {
  return Buffer.concat(
    events.flatMap((e) =>
      e.kind === 'chunk' && e.stream === stream ? [Buffer.from(e.data, 'base64')] : [],
    ),
  );
}

async function run(
  sandboxId: string,
  argv: string[],
  extra: Omit<Parameters<typeof trpc.sandboxes.exec.mutate>[0], 'sandboxId' | 'argv'> = {},
) {
  const { execId } = await trpc.sandboxes.exec.mutate({ sandboxId, argv, ...extra });
  const events = await output(execId);
  const rec = await trpc.execs.wait.query({ execId });
  return { events, rec, stdout: bytesOf(events, 'stdout').toString('utf8') };
}

describe('node worker', () => {
  let sandboxId: string;

  beforeAll(async () => {
    sandboxId = (await trpc.sandboxes.create.mutate({ preset: 'agent-safe' })).id;
  });

  it('streams megabytes of output completely, in order, in chunks of at most 64 KiB', async () => {
    const { events, rec, stdout } = await run(sandboxId, ['seq', '1', '400000']);
    const expected = Array.from({ length: 400_000 }, (_, i) => `${i + 1}\n`).join('');
    expect(stdout.length).toBe(expected.length);
    expect(stdout === expected).toBe(true);
    for (const e of events) {
      if (e.kind === 'chunk')
        expect(Buffer.from(e.data, 'base64').length).toBeLessThanOrEqual(MAX_CHUNK_BYTES);
    }
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(rec.result).toMatchObject({
      exitCode: 0,
      stdoutBytes: expected.length,
      truncated: false,
    });
  });

  it('caps output at limits.outputBytes and reports truncation', async () => {
    const { rec, stdout } = await run(sandboxId, ['seq', '1', '100000'], {
      limits: { outputBytes: 1000 },
    });
    expect(stdout.length).toBe(1000);
    expect(rec.result?.truncated).toBe(true);
    expect(rec.result?.stdoutBytes).toBeGreaterThan(1000);
  });

  it('kills a command at limits.timeoutMs', async () => {
    const { rec } = await run(sandboxId, ['sleep', '30'], { limits: { timeoutMs: 300 } });
    expect(rec.status).toBe('exited');
    expect(rec.result).toMatchObject({ timedOut: true, exitCode: null });
  });

  it('passes stdin, env and cwd, and does not leak the agent’s environment', async () => {
    expect((await run(sandboxId, ['cat'], { stdin: 'hello\n' })).stdout).toBe('hello\n');
    process.env.CORDON_SECRET_PROBE = 'leaked';
    try {
      const env = await run(sandboxId, ['env'], { env: { FOO: 'bar' } });
      expect(env.stdout).toContain('FOO=bar\n');
      expect(env.stdout).not.toContain('leaked');
      expect(env.stdout).not.toContain(CLUSTER_TOKEN);
    } finally {
      delete process.env.CORDON_SECRET_PROBE;
    }
    await run(sandboxId, ['mkdir', '-p', 'sub/dir']);
    const pwd = await run(sandboxId, ['pwd'], { cwd: '/sub/dir' });
    expect(pwd.stdout.trim().endsWith(join(sandboxId, 'sub', 'dir'))).toBe(true);
  });

  it('answers 127 with a message for an unknown program', async () => {
    const { rec, events } = await run(sandboxId, ['no-such-program-xyz']);
    expect(rec.result?.exitCode).toBe(127);
    expect(bytesOf(events, 'stderr').toString()).toContain('no-such-program-xyz');
  });

  it('refuses a sandbox whose policy does not match its hash', async () => {
    const id = 'sb_tampered';
    await redis.hset(redisKeys.sandbox(id), {
      id,
      tenantId: 't',
      nodeId: 'w1',
      state: 'creating',
    });
    const q = new Queue(nodeControlQueueName('w1'), { connection: redis, prefix: BULL_PREFIX });
    try {
      const p = compilePolicy({ preset: 'read-only' });
      await q.add(
        'sandbox.create',
        {
          kind: 'sandbox.create',
          requestId: 'r1',
          tenantId: 't',
          sandboxId: id,
          policy: { canonical: p.canonical, hash: 'sha256:' + '0'.repeat(64) },
          limits: {
            memoryBytes: 1 << 30,
            cpuMillicores: 1000,
            pids: 512,
            timeoutMs: null,
            outputBytes: 1 << 20,
          },
          network: 'none',
          strict: false,
          idleTimeoutMs: null,
        },
        { jobId: jobId('create', id), removeOnComplete: true },
      );
      let state: string | null = 'creating';
      for (let i = 0; i < 200 && state === 'creating'; i++) {
        await sleep(25);
        state = await redis.hget(redisKeys.sandbox(id), 'state');
      }
      expect(state).toBe('failed');
      const error = JSON.parse((await redis.hget(redisKeys.sandbox(id), 'error')) ?? '{}') as {
        code?: string;
        message?: string;
      };
      expect(error.code).toBe('CONFLICT');
      expect(error.message).toContain('hash mismatch');
    } finally {
      await q.close();
    }
  });

  it('deregisters on graceful close, and the gateway marks its sandboxes lost', async () => {
    await worker.close({ graceful: true });
    let state = '';
    for (let i = 0; i < 200 && state !== 'lost'; i++) {
      await sleep(25);
      state = (await trpc.sandboxes.get.query({ sandboxId })).state;
    }
    expect(state).toBe('lost');
    const nodes = await trpc.nodes.list.query();
    expect(nodes.find((n) => n.id === 'w1')?.status).toBe('down');
  });
});
