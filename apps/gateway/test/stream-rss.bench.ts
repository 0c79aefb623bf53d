// Streaming throughput and gateway memory with a fast and a stalled subscriber.
// Run: node apps/gateway/test/stream-rss.bench.ts [MiB=256]
// Starts redis-server, a gateway process and a node worker process (interim executor) in a temp
// dir, runs `head -c N /dev/zero`, reads it with (1) a client that reads as fast as it can and
// (2) a raw websocket client whose socket is paused, sampling the gateway's RSS. Stops all by PID.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { createToken } from '../src/auth/tokens.ts';

const MiB = 1024 * 1024;
const total = Number(process.argv[2] ?? 256) * MiB;
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'cordon-bench-'));
const sock = join(dir, 'r.sock');
const children: ChildProcess[] = [];
const cluster = 'bench-cluster-token-0123456789abcdef';
// If a child dies mid-run the awaited promises never settle and Node exits without `finally`:
// kill what is left by PID on any exit.
process.on('exit', () => {
  for (const c of children) if (c.pid && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
});

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

async function ready(c: ChildProcess): Promise<Record<string, unknown>> {
  return new Promise((res, rej) => {
    c.once('message', (m) => res(m as Record<string, unknown>));
    c.once('exit', (code) => rej(new Error(`child exited ${code}`)));
  });
}

try {
  const r = spawn(
    '/usr/bin/redis-server',
    ['--port', '0', '--unixsocket', sock, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  children.push(r);
  while (!existsSync(sock)) await sleep(20);
  const env = {
    PATH: process.env.PATH,
    CORDON_REDIS_PATH: sock,
    CORDON_CLUSTER_TOKEN: cluster,
    CORDON_LOG_LEVEL: 'warn',
  };
  const g = fork(here('../src/main.ts'), [], {
    execArgv: process.env.GW_HEAP_MB ? [`--max-old-space-size=${process.env.GW_HEAP_MB}`] : [],
    env: { ...env, CORDON_PORT: '0' },
  });
  children.push(g);
  const gi = await ready(g);
  const n = fork(here('../../node-agent/src/worker/main.ts'), [], {
    env: { ...env, CORDON_NODE_ID: 'bench', CORDON_DATA_DIR: join(dir, 'node') },
  });
  children.push(n);
  await ready(n);
  const redis = new Redis({ path: sock });
  const token = await createToken(redis, { tenantId: 'bench', scope: 'write' });
  const httpUrl = gi.httpUrl as string;
  const wsUrl = gi.wsUrl as string;
  const call = async (path: string, input: unknown) => {
    const res = await fetch(`${httpUrl}/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    return ((await res.json()) as { result: { data: Record<string, unknown> } }).result.data;
  };
  const sb = await call('sandboxes.create', {
    preset: 'agent-safe',
    limits: { outputBytes: total },
  });
  const subscribe = (execId: string, onMsg: (bytes: number, end: boolean) => void) => {
    const ws = new WebSocket(`${wsUrl}?connectionParams=1`);
    ws.on('open', () => {
      ws.send(JSON.stringify({ method: 'connectionParams', data: { token } }));
      ws.send(
        JSON.stringify({
          id: 1,
          method: 'subscription',
          params: { path: 'execs.output', input: { execId } },
        }),
      );
    });
    ws.on('message', (raw: Buffer) => {
      const m = JSON.parse(raw.toString()) as {
        result?: { data?: { data?: { kind: string; data?: string } } };
      };
      const ev = m.result?.data?.data;
      if (ev) onMsg(ev.data ? Buffer.byteLength(ev.data, 'base64') : 0, ev.kind === 'end');
    });
    return ws;
  };

  // 1. fast reader
  const exec = await call('sandboxes.exec', {
    sandboxId: sb.id,
    argv: ['head', '-c', String(total), '/dev/zero'],
  });
  let got = 0;
  let peak = 0;
  const t0 = performance.now();
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(g.pid as number))), 50);
  await new Promise<void>((resolve) => {
    const ws = subscribe(exec.execId as string, (b, end) => {
      got += b;
      if (end) {
        ws.close();
        resolve();
      }
    });
  });
  const secs = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  console.log(
    `fast client: ${(got / MiB).toFixed(0)} MiB in ${secs.toFixed(2)} s = ${(got / MiB / secs).toFixed(0)} MiB/s; gateway peak RSS ${peak.toFixed(0)} MiB`,
  );

  // 2. stalled reader: pause the TCP socket after the first messages, sample RSS for 5 s.
  const exec2 = await call('sandboxes.exec', {
    sandboxId: sb.id,
    argv: ['head', '-c', String(total), '/dev/zero'],
  });
  let got2 = 0;
  const ws2 = subscribe(exec2.execId as string, (b) => (got2 += b));
  await sleep(300);
  (ws2 as unknown as { _socket: { pause(): void } })._socket.pause();
  const samples: number[] = [];
  for (let i = 0; i < 10; i++) {
    await sleep(500);
    samples.push(rssMiB(g.pid as number));
  }
  console.log(
    `stalled client: received ${(got2 / MiB).toFixed(1)} MiB before pausing; gateway RSS over 5 s: ${samples.map((s) => s.toFixed(0)).join(' ')} MiB`,
  );
  ws2.terminate();
  redis.disconnect();
} finally {
  for (const c of children.reverse())
    if (c.pid && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
  await sleep(100);
  await rm(dir, { recursive: true, force: true });
}
