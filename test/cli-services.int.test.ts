import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCordon } from '@cordon/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cordonCli, startCordon, type CordonProcess } from './helpers/cli.ts';
import {
  descendants,
  mountsUnder,
  processesMentioning,
  stillRunning,
  type ProcInfo,
} from './helpers/procs.ts';

// Multi-host mode on one machine: a redis-server started here, `cordon gateway` and `cordon node`
// as separate processes configured by flags and env, and `cordon run` through them.

let dir: string;
let redis: ChildProcess;
let socket: string;
const started: CordonProcess[] = [];
let trees: ProcInfo[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cordon-svc-'));
  await chmod(dir, 0o711);
  socket = path.join(dir, 'redis.sock');
  redis = spawn(
    'redis-server',
    ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--dir', dir],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 400 && !existsSync(socket); i++) await sleep(25);
  if (!existsSync(socket)) throw new Error('redis-server did not create its socket');
});

afterAll(async () => {
  for (const p of started) p.kill();
  await Promise.all(started.map((p) => p.exited));
  for (const p of stillRunning([...trees, ...processesMentioning(dir)])) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const m of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', m]);
  if (redis?.pid !== undefined && redis.exitCode === null) {
    redis.kill('SIGTERM');
    await new Promise((r) => redis.once('exit', r));
  }
  await rm(dir, { recursive: true, force: true });
});

const secret = () => randomBytes(24).toString('hex');

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Whether something accepts connections on the port (redis-server, once it is up). */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
const basicEnv = () => ({ PATH: process.env['PATH'], HOME: dir });

describe('cordon gateway + cordon node (multi-host mode)', () => {
  it('run a command through separately started services; both stop cleanly on a signal', async () => {
    const cluster = secret();
    const admin = `cdn_${secret()}`;
    const gw = startCordon(['gateway', '--port', '0', '--redis-socket', socket], {
      env: {
        ...basicEnv(),
        CORDON_CLUSTER_TOKEN: cluster,
        CORDON_ADMIN_TOKEN: admin,
        CORDON_LOG_LEVEL: 'info',
      },
    });
    started.push(gw);
    await gw.waitFor(/"gateway listening"/);
    const port = /"port":(\d+)/.exec(gw.stdout())?.[1];
    expect(port).toMatch(/^\d+$/);
    const url = `http://127.0.0.1:${port}`;

    const proj = path.join(dir, 'proj');
    await mkdir(proj, { mode: 0o755 });
    await writeFile(path.join(proj, 'a.txt'), 'a\n');
    await writeFile(path.join(proj, '.env'), 'SECRET=1\n');
    const node = startCordon(['node', '--id', 'n1'], {
      env: {
        ...basicEnv(),
        // `cordon run` below uses proj in place: only possible if this reached the agent.
        CORDON_ALLOW_PATHS: proj,
        CORDON_REDIS_PATH: socket,
        // The node accepts the cluster secret as CORDON_TOKEN too.
        CORDON_TOKEN: cluster,
        CORDON_GATEWAY_URL: url,
        CORDON_DATA_DIR: path.join(dir, 'node'),
        CORDON_CAPACITY: '2',
        CORDON_LOG_LEVEL: 'info',
      },
      // Its own process group, so the test can press Ctrl-C as a terminal does (the whole group).
      detached: true,
    });
    started.push(node);
    await node.waitFor(/"node worker up"/, 60_000);

    const cordon = createCordon({ url, token: admin });
    try {
      expect((await cordon.nodes()).map((n) => [n.id, n.status, n.capacity])).toEqual([
        ['n1', 'up', 2],
      ]);
    } catch (err) {
      await cordon.close();
      throw err;
    }

    const env = { ...basicEnv(), CORDON_URL: url, CORDON_TOKEN: admin };
    const r = await cordonCli(
      ['run', '--preset', 'development', '--', 'sh', '-c', 'ls -a; cat a.txt; echo b > b.txt'],
      { env, cwd: proj },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('.\n..\na.txt\na\n');
    expect(r.stderr).toMatch(/committed 1 added/);
    expect(await readFile(path.join(proj, 'b.txt'), 'utf8')).toBe('b\n');

    // A sandbox left open, so the node has FUSE mounts to take down when it stops.
    const sb = await cordon.sandbox.fromLocal(proj, { preset: 'agent-safe' });
    expect((await sb.run(['cat', 'a.txt'])).stdout).toBe('a\n');
    await cordon.close();
    expect(mountsUnder(path.join(dir, 'node')).length).toBeGreaterThan(0);

    trees = [...descendants(gw.pid), ...descendants(node.pid)];
    expect(trees.some((p) => p.cmd.endsWith('worker/main.ts'))).toBe(true);
    expect(trees.some((p) => p.cmd.endsWith('gateway/src/main.ts'))).toBe(true);

    // Ctrl-C in the node's terminal: SIGINT to its whole process group.
    process.kill(-node.pid, 'SIGINT');
    expect(await node.exited).toEqual({ code: 0, signal: null });
    expect(mountsUnder(path.join(dir, 'node'))).toEqual([]);
    process.kill(gw.pid, 'SIGINT');
    expect(await gw.exited).toEqual({ code: 0, signal: null });
    expect(stillRunning(trees).map((p) => `${p.pid} ${p.cmd}`)).toEqual([]);
    expect(mountsUnder(path.join(dir, 'node'))).toEqual([]);
  });

  it('uses the password and database of a Redis URL, and says so when the URL has none', async () => {
    const port = await freePort();
    const pw = secret();
    const protectedRedis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', pw, '--save', ''],
      { stdio: 'ignore' },
    );
    try {
      for (let i = 0; i < 200 && !(await answers(port)); i++) await sleep(25);
      const cluster = secret();
      const admin = `cdn_${secret()}`;
      const env = { ...basicEnv(), CORDON_CLUSTER_TOKEN: cluster, CORDON_ADMIN_TOKEN: admin };
      const refused = await cordonCli(['gateway', '--port', '0'], {
        env: { ...env, CORDON_REDIS_URL: `redis://127.0.0.1:${port}` },
      });
      expect(refused.code, refused.stderr).toBe(125);
      expect(refused.stderr).toMatch(/wants a password: put it in the URL, redis:\/\/:PASSWORD@/);

      const gw = startCordon(['gateway', '--port', '0'], {
        env: {
          ...env,
          CORDON_REDIS_URL: `redis://:${pw}@127.0.0.1:${port}/3`,
          CORDON_LOG_LEVEL: 'info',
        },
      });
      started.push(gw);
      await gw.waitFor(/"gateway listening"/);
      // The admin token was installed in database 3, with the password.
      const keys = spawnSync(
        'redis-cli',
        [
          '-p',
          String(port),
          '-a',
          pw,
          '--no-auth-warning',
          '-n',
          '3',
          '--scan',
          '--pattern',
          'cordon:token:*',
        ],
        { encoding: 'utf8' },
      );
      expect(keys.stdout.trim().split('\n').filter(Boolean)).toHaveLength(1);
      process.kill(gw.pid, 'SIGINT');
      expect(await gw.exited).toEqual({ code: 0, signal: null });
    } finally {
      protectedRedis.kill('SIGTERM');
      await new Promise((r) => protectedRedis.once('exit', r));
    }
  });

  it('warns when listening on a wildcard address without a cluster URL nodes can dial', async () => {
    const gw = startCordon(['gateway', '--host', '0.0.0.0', '--port', '0'], {
      env: {
        ...basicEnv(),
        CORDON_REDIS_PATH: socket,
        CORDON_CLUSTER_TOKEN: secret(),
        CORDON_LOG_LEVEL: 'info',
      },
    });
    started.push(gw);
    await gw.waitFor(/set CORDON_PUBLIC_CLUSTER_URL/);
    expect(gw.stdout()).toMatch(/"clusterUrl":"ws:\/\/0\.0\.0\.0:\d+\/cluster"/);
    process.kill(gw.pid, 'SIGINT');
    expect(await gw.exited).toEqual({ code: 0, signal: null });
  });

  /** Starts `cordon ARGS`, expects it to refuse with `code` and one line, and start nothing. */
  async function expectRefused(
    args: readonly string[],
    extra: Record<string, string>,
    code: number,
    message: RegExp,
  ): Promise<void> {
    const cluster = secret();
    const r = await cordonCli(args, {
      env: {
        ...basicEnv(),
        CORDON_CLUSTER_TOKEN: cluster,
        CORDON_REDIS_PATH: socket,
        CORDON_DATA_DIR: path.join(dir, `never-${cluster}`),
        ...extra,
      },
    });
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(processesMentioning(cluster)).toEqual([]);
  }

  it.each<[string, string[], Record<string, string>, RegExp]>([
    ['gateway', ['--port', '99999'], {}, /^cordon: --port 99999: must be between 0 and 65535/],
    ['gateway', [], { CORDON_PORT: 'http' }, /^cordon: CORDON_PORT http: must be a whole number/],
    [
      'gateway',
      [],
      { CORDON_CLUSTER_TOKEN: '' },
      /^cordon: no cluster token: give --cluster-token or CORDON_CLUSTER_TOKEN/,
    ],
    ['gateway', ['--cluster-token', 'short'], {}, /^cordon: --cluster-token: must be at least 16/],
    [
      'gateway',
      [],
      { CORDON_REDIS_PATH: '', CORDON_REDIS_URL: 'localhost:6379' },
      /^cordon: CORDON_REDIS_URL localhost:6379: not a Redis URL/,
    ],
    ['gateway', [], { CORDON_REDIS_PATH: '' }, /^cordon: no Redis: give --redis-url/],
    [
      'gateway',
      [],
      { CORDON_ADMIN_TOKEN: 'x' },
      /^cordon: CORDON_ADMIN_TOKEN: must be at least 16/,
    ],
    [
      'gateway',
      ['--public-cluster-url', 'http://gw'],
      {},
      /^cordon: --public-cluster-url http:\/\/gw: write e\.g\. ws:/,
    ],
    ['node', ['--id', 'bad id'], {}, /^cordon: --id bad id: use letters/],
    ['node', [], { CORDON_NODE_ID: 'a/b' }, /^cordon: CORDON_NODE_ID a\/b: use letters/],
    [
      'node',
      [],
      { CORDON_CAPACITY: '0' },
      /^cordon: CORDON_CAPACITY 0: must be between 1 and 1024/,
    ],
    [
      'node',
      [],
      { CORDON_GATEWAY_URL: 'gw1:7420' },
      /^cordon: CORDON_GATEWAY_URL gw1:7420: not a gateway URL/,
    ],
    ['node', ['--cluster-token', 'short'], {}, /^cordon: --cluster-token: must be at least 16/],
  ])(
    'cordon %s %j with env %j → exit 2 naming the bad input, nothing started',
    async (cmd, args, extra, message) => {
      await expectRefused([cmd, ...args], extra, 2, message);
    },
  );

  it.each<[string, Record<string, string>, RegExp]>([
    [
      'gateway',
      { CORDON_REDIS_PATH: '/nonexistent/redis.sock' },
      /^cordon: CORDON_REDIS_PATH \/nonexistent\/redis\.sock: no Redis answers there \(ENOENT\)/,
    ],
    [
      'node',
      { CORDON_REDIS_PATH: '', CORDON_REDIS_URL: 'redis://127.0.0.1:1' },
      /^cordon: CORDON_REDIS_URL redis:\/\/127\.0\.0\.1:1: no Redis answers there \(ECONNREFUSED\)/,
    ],
    [
      'node',
      { CORDON_GATEWAY_URL: 'http://127.0.0.1:1' },
      /^cordon: CORDON_GATEWAY_URL http:\/\/127\.0\.0\.1:1: no gateway answers/,
    ],
  ])(
    'cordon %s with %j unreachable → exit 125 naming it, nothing started',
    async (cmd, extra, message) => {
      await expectRefused([cmd], extra, 125, message);
    },
  );
});
