// The node agent in-process with the real executor (FUSE mount + bwrap) behind a real gateway and
// redis-server: large and capped output, limits, stdin/env/cwd, commits and denials in results,
// sessions, handlers, host-path codebases and the allow-list, policy hash refusal, and recovery
// of a sandbox (with its uncommitted delta) after the agent restarts on the same data dir.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
import {
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  splitLink,
  TRPCClientError,
  wsLink,
} from '@trpc/client';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeWorker, type NodeWorker } from '../../src/worker/index.ts';

const CLUSTER_TOKEN = 'worker-test-cluster-token-0123456789';

let dir: string;
let allowed: string;
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

const startWorker = (path: string, extra: { drainMs?: number } = {}) =>
  startNodeWorker({
    ...extra,
    nodeId: 'w1',
    redis: { path },
    clusterToken: CLUSTER_TOKEN,
    dataDir: join(dir, 'w1'),
    allowPaths: [allowed],
    uidBase: 2_200_000,
    uidCount: 1000,
    capacity: 2,
    heartbeatIntervalMs: 200,
    heartbeatTtlMs: 1_000,
    // A small window makes the node wait for acks many times during one exec.
    linkWindowBytes: 128 * 1024,
    logger: pino({ level: 'silent' }),
  });

let redisPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cordon-worker-'));
  await chmod(dir, 0o755);
  allowed = join(dir, 'projects');
  await mkdir(join(allowed, 'app', 'src'), { recursive: true });
  await writeFile(join(allowed, 'app', 'src', 'main.py'), 'print("hi")\n');
  await writeFile(join(allowed, 'app', '.env'), 'TOKEN=hunter2\n');
  redisPath = await startRedis();
  redis = new Redis({ path: redisPath });
  gw = await startGateway({
    redis: { path: redisPath },
    clusterToken: CLUSTER_TOKEN,
    janitorIntervalMs: 200,
    logger: pino({ level: 'silent' }),
  });
  worker = await startWorker(redisPath);
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
}, 60_000);

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
  return {
    events,
    rec,
    stdout: bytesOf(events, 'stdout').toString('utf8'),
    stderr: bytesOf(events, 'stderr').toString('utf8'),
  };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  const err: unknown = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TRPCClientError);
  return (err as { data?: { cordonCode?: string } }).data?.cordonCode;
}

describe('node agent (real executor)', () => {
  let sandboxId: string;

  beforeAll(async () => {
    sandboxId = (await trpc.sandboxes.create.mutate({ preset: 'development' })).id;
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

  it('caps output at limits.outputBytes and kills at limits.timeoutMs', async () => {
    const capped = await run(sandboxId, ['seq', '1', '100000'], { limits: { outputBytes: 1000 } });
    expect(capped.stdout.length).toBe(1000);
    expect(capped.rec.result?.truncated).toBe(true);
    const slow = await run(sandboxId, ['sleep', '30'], { limits: { timeoutMs: 300 } });
    expect(slow.rec.status).toBe('exited');
    expect(slow.rec.result).toMatchObject({ timedOut: true, exitCode: null });
    // Sandbox-wide limits cannot change per exec: refused, not silently ignored.
    expect(
      await codeOf(run(sandboxId, ['true'], { limits: { memoryBytes: 64 * 1024 * 1024 } })),
    ).toBe('BAD_REQUEST');
  });

  it('passes stdin, env and cwd, runs as an unprivileged uid, leaks no agent environment', async () => {
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
    expect((await run(sandboxId, ['pwd'], { cwd: '/sub/dir' })).stdout).toBe(
      '/workspace/sub/dir\n',
    );
    expect((await run(sandboxId, ['id', '-u'])).stdout.trim()).not.toBe('0');
  });

  it('reports an unknown program as a failed command naming it', async () => {
    const { rec, stderr } = await run(sandboxId, ['no-such-program-xyz']);
    expect(rec.status).toBe('exited');
    expect(rec.result?.exitCode).not.toBe(0);
    expect(stderr).toContain('no-such-program-xyz');
  });

  it('commits a host-path codebase into the directory and reports denials', async () => {
    const cb = await trpc.codebases.create.mutate({
      source: { kind: 'path', path: join(allowed, 'app') },
    });
    expect(cb).toMatchObject({ state: 'ready', nodeId: 'w1', source: 'path' });
    const sb = await trpc.sandboxes.create.mutate({ codebaseId: cb.id, preset: 'development' });
    expect(sb.codebaseId).toBe(cb.id);

    const since = await redis.xrevrange(redisKeys.tenantDenials('t'), '+', '-', 'COUNT', 1);
    const r = await run(sb.id, [
      'sh',
      '-c',
      'echo "print(2)" > src/new.py; cat .env; ls -a; exit 0',
    ]);
    expect(r.stdout).not.toContain('.env');
    expect(r.rec.result?.commit).toMatchObject({ committed: true, added: 1, error: null });
    expect(r.rec.result?.denials.count).toBeGreaterThan(0);
    expect(r.rec.result?.denials.sample[0]).toMatchObject({ sandboxId: sb.id, path: '/.env' });
    expect(await readFile(join(allowed, 'app', 'src', 'new.py'), 'utf8')).toBe('print(2)\n');

    const commits = await trpc.sandboxes.commits.query({ sandboxId: sb.id });
    expect(commits[0]).toMatchObject({ execId: r.rec.id, committed: true, added: ['/src/new.py'] });

    // audit.denials resumes after a given event id and yields this sandbox's events.
    const ev = await new Promise<{ id: string; path: string }>((resolve, reject) => {
      const sub = trpc.audit.denials.subscribe(
        { sandboxId: sb.id, lastEventId: since[0]?.[0] ?? '0' },
        {
          onData: ({ id, data }) => {
            sub.unsubscribe();
            resolve({ id, path: data.path });
          },
          onError: reject,
        },
      );
    });
    expect(ev.path).toBe('/.env');
    expect(ev.id).toMatch(/^\d+-\d+$/);
  });

  it('refuses host paths outside the allow-list (FORBIDDEN) and paths that are not there', async () => {
    expect(
      await codeOf(trpc.codebases.create.mutate({ source: { kind: 'path', path: '/etc' } })),
    ).toBe('FORBIDDEN');
    // A symlink inside the allowed tree that points out of it is judged by its real path.
    await rm(join(allowed, 'escape'), { force: true });
    const { symlink } = await import('node:fs/promises');
    await symlink('/etc', join(allowed, 'escape'));
    expect(
      await codeOf(
        trpc.codebases.create.mutate({ source: { kind: 'path', path: join(allowed, 'escape') } }),
      ),
    ).toBe('FORBIDDEN');
    expect(
      await codeOf(
        trpc.codebases.create.mutate({ source: { kind: 'path', path: join(allowed, 'nope') } }),
      ),
    ).toBe('BAD_REQUEST');
  });

  it('runs a session: state persists between commands; closed sessions refuse commands', async () => {
    const s = await trpc.sessions.create.mutate({ sandboxId });
    expect(s.state).toBe('open');
    const cmd = async (command: string) => {
      const { execId } = await trpc.sessions.exec.mutate({ sessionId: s.id, command });
      const events = await output(execId);
      const rec = await trpc.execs.wait.query({ execId });
      return { rec, stdout: bytesOf(events, 'stdout').toString() };
    };
    await cmd('mkdir -p sub && cd sub && export MODE=dev && echo hi > f.txt');
    const r = await cmd('pwd; echo $MODE; cat f.txt');
    expect(r.stdout).toBe('/workspace/sub\ndev\nhi\n');
    expect(r.rec).toMatchObject({ kind: 'session', sessionId: s.id, status: 'exited' });
    expect(r.rec.result?.exitCode).toBe(0);
    const closed = await trpc.sessions.close.mutate({ sessionId: s.id });
    expect(closed.state).toBe('closed');
    expect(await codeOf(trpc.sessions.exec.mutate({ sessionId: s.id, command: 'true' }))).toBe(
      'CONFLICT',
    );
  });

  it('runs handlers in python and javascript and returns their results and errors', async () => {
    const py = await trpc.sandboxes.handler.mutate({
      sandboxId,
      language: 'python',
      code: 'def handler(event):\n    print("log")\n    return {"sum": event["a"] + event["b"]}\n',
      event: { a: 2, b: 3 },
    });
    expect(py).toMatchObject({ result: { sum: 5 }, error: null, stdout: 'log\n' });
    const js = await trpc.sandboxes.handler.mutate({
      sandboxId,
      language: 'javascript',
      code: 'export function handler(e) { throw new TypeError("bad " + e.x) }',
      event: { x: 1 },
    });
    expect(js.error).toMatchObject({ type: 'TypeError', message: 'bad 1' });
  });

  it('refuses a sandbox whose policy does not match its hash', async () => {
    const id = 'sb_tampered';
    await redis.hset(redisKeys.sandbox(id), { id, tenantId: 't', nodeId: 'w1', state: 'creating' });
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
          codebaseId: 'cb_tampered',
          scratch: true,
          commit: 'always',
          commitMode: 'lww',
          quotaBytes: 1 << 30,
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
      expect(existsSync(join(dir, 'w1', 'sandboxes', id))).toBe(false);
    } finally {
      await q.close();
    }
  });

  it('a graceful stop lets a running exec finish; one that outlasts the drain fails NODE_LOST', async () => {
    const sb = await trpc.sandboxes.create.mutate({ preset: 'development' });
    const running = async (argv: string[]) => {
      const { execId } = await trpc.sandboxes.exec.mutate({ sandboxId: sb.id, argv });
      for (let i = 0; i < 400; i++) {
        if ((await trpc.execs.get.query({ execId })).status === 'running') return execId;
        await sleep(10);
      }
      throw new Error(`exec ${execId} never started`);
    };
    const quick = await running(['sh', '-c', 'sleep 0.5; echo done']);
    await worker.close({ graceful: true });
    expect(await trpc.execs.wait.query({ execId: quick })).toMatchObject({
      status: 'exited',
      result: { exitCode: 0 },
    });

    worker = await startWorker(redisPath, { drainMs: 300 });
    try {
      const slow = await running(['sleep', '60']);
      await worker.close({ graceful: true });
      expect(await codeOf(trpc.execs.wait.query({ execId: slow }))).toBe('NODE_LOST');
      const rec = await trpc.execs.get.query({ execId: slow });
      expect(rec.status).toBe('failed');
      expect(rec.error?.message).toMatch(
        /was stopped and the command did not finish within 300 ms/,
      );
    } finally {
      worker = await startWorker(redisPath);
    }
  });

  it('after a restart on the same data dir, re-mounts its sandboxes with their uncommitted changes', async () => {
    const sb = await trpc.sandboxes.create.mutate({ preset: 'development', commit: 'never' });
    await run(sb.id, ['sh', '-c', 'echo pending > kept.txt']);
    await worker.close({ graceful: true });
    let state = '';
    for (let i = 0; i < 200 && state !== 'lost'; i++) {
      await sleep(25);
      state = (await trpc.sandboxes.get.query({ sandboxId: sb.id })).state;
    }
    expect(state).toBe('lost');
    expect((await trpc.nodes.list.query()).find((n) => n.id === 'w1')?.status).toBe('down');

    // A killed run's sandbox cgroup without a sandbox (another node's must stay).
    const stale = ['memory', 'cpu', 'pids'].flatMap((c) => [
      `/sys/fs/cgroup/${c}/cordon/w1/sb_stale_leftover/x1`,
      `/sys/fs/cgroup/${c}/cordon/w-other/sb_other`,
    ]);
    for (const d of stale) mkdirSync(d, { recursive: true });
    worker = await startWorker(redisPath);
    try {
      expect(worker.recovery.cgroupsRemoved).toBe(1);
      expect(existsSync('/sys/fs/cgroup/pids/cordon/w1/sb_stale_leftover')).toBe(false);
      expect(existsSync('/sys/fs/cgroup/pids/cordon/w-other/sb_other')).toBe(true);
      expect(existsSync(`/sys/fs/cgroup/pids/cordon/w1/${sb.id}`)).toBe(true);
    } finally {
      for (const c of ['memory', 'cpu', 'pids']) {
        rmdirSync(`/sys/fs/cgroup/${c}/cordon/w-other/sb_other`);
        rmdirSync(`/sys/fs/cgroup/${c}/cordon/w-other`);
      }
    }
    expect(worker.recovery.sandboxesRecovered).toBeGreaterThanOrEqual(2);
    expect((await trpc.sandboxes.get.query({ sandboxId: sb.id })).state).toBe('ready');
    expect((await run(sb.id, ['cat', 'kept.txt'])).stdout).toBe('pending\n');
  });
});
