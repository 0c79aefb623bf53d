// A throwaway cluster for benchmarks: redis-server on a unix socket, a gateway process and a node
// agent process (real bwrap + FUSE executor; needs root), all in one temp dir, stopped by PID.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createToken } from '@cordon/gateway';
import { Redis } from 'ioredis';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const CLUSTER_TOKEN = 'bench-cluster-token-0123456789abcdef';

export interface Stack {
  readonly dir: string;
  readonly gatewayPid: number;
  readonly nodePid: number;
  readonly redisPid: number;
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly baseUrl: string;
  readonly token: string;
  readonly redis: Redis;
  /** A tRPC call over HTTP (POST for mutations, GET for queries); throws on an error answer. */
  call<T = Record<string, unknown>>(path: string, input: unknown, query?: boolean): Promise<T>;
  stop(): Promise<void>;
}

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const f = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function ready(c: ChildProcess, what: string): Promise<Record<string, unknown>> {
  return new Promise((res, rej) => {
    c.once('message', (m) => res(m as Record<string, unknown>));
    c.once('exit', (code) => rej(new Error(`${what} exited early (${code})`)));
  });
}

export async function startStack(
  o: {
    gatewayNodeArgs?: readonly string[];
    gatewayEnv?: Record<string, string>;
    nodeAgentNodeArgs?: readonly string[];
  } = {},
): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'cordon-bench-gw-'));
  // Sandboxes run as unprivileged uids and must traverse to the node's data dir.
  await chmod(dir, 0o711);
  const sock = join(dir, 'r.sock');
  const children: ChildProcess[] = [];
  // If a child dies mid-run, awaited promises may never settle and Node exits without `finally`.
  const killAll = () => {
    for (const c of children) {
      if (c.pid && c.exitCode === null && c.signalCode === null) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  };
  process.once('exit', killAll);
  const r = spawn(
    '/usr/bin/redis-server',
    ['--port', '0', '--unixsocket', sock, '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  children.push(r);
  while (!existsSync(sock)) await sleep(20);
  const env = {
    PATH: process.env.PATH,
    CORDON_REDIS_PATH: sock,
    CORDON_CLUSTER_TOKEN: CLUSTER_TOKEN,
    CORDON_LOG_LEVEL: 'warn',
  };
  const g = fork(here('../../apps/gateway/src/main.ts'), [], {
    execArgv: [...(o.gatewayNodeArgs ?? [])],
    env: { ...env, ...o.gatewayEnv, CORDON_PORT: '0' },
  });
  children.push(g);
  // CORDON_BENCH_NODE_LOG=debug shows the node agent's per-exec stage timings (`exec stages`).
  const nodeLog = process.env.CORDON_BENCH_NODE_LOG;
  const n = fork(here('../../apps/node-agent/src/worker/main.ts'), [], {
    execArgv: [...(o.nodeAgentNodeArgs ?? [])],
    env: {
      ...env,
      CORDON_NODE_ID: 'bench',
      CORDON_DATA_DIR: join(dir, 'node'),
      ...(nodeLog ? { CORDON_LOG_LEVEL: nodeLog } : {}),
      ...(process.env.CORDON_FS_HOST_STANDBY
        ? { CORDON_FS_HOST_STANDBY: process.env.CORDON_FS_HOST_STANDBY }
        : {}),
    },
  });
  children.push(n);
  let gi: Record<string, unknown>;
  try {
    [gi] = await Promise.all([ready(g, 'gateway'), ready(n, 'node agent')]);
  } catch (err) {
    killAll();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const redis = new Redis({ path: sock });
  const token = await createToken(redis, { tenantId: 'bench', scope: 'write' });
  const httpUrl = gi.httpUrl as string;
  const auth = { authorization: `Bearer ${token}` };
  return {
    dir,
    gatewayPid: g.pid as number,
    nodePid: n.pid as number,
    redisPid: r.pid as number,
    httpUrl,
    wsUrl: gi.wsUrl as string,
    baseUrl: httpUrl.replace(/\/trpc$/, ''),
    token,
    redis,
    async call<T>(path: string, input: unknown, query = false): Promise<T> {
      const res = query
        ? await fetch(`${httpUrl}/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, {
            headers: auth,
          })
        : await fetch(`${httpUrl}/${path}`, {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: JSON.stringify(input),
          });
      const body = (await res.json()) as { result?: { data: T }; error?: unknown };
      if (!body.result) throw new Error(`${path}: ${JSON.stringify(body.error)}`);
      return body.result.data;
    },
    async stop() {
      redis.disconnect();
      // Graceful for the node agent (it unmounts its sandboxes), then by PID for the rest.
      if (n.pid && n.exitCode === null) {
        process.kill(n.pid, 'SIGTERM');
        await Promise.race([new Promise((r) => n.once('exit', r)), sleep(10_000)]);
      }
      // Graceful for the gateway too, so `--cpu-prof` and friends get written.
      if (g.pid && g.exitCode === null) {
        process.kill(g.pid, 'SIGTERM');
        await Promise.race([new Promise((r) => g.once('exit', r)), sleep(5_000)]);
      }
      killAll();
      await sleep(100);
      // Exiting fs hosts may still be writing their compile cache: retry ENOTEMPTY.
      await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}
