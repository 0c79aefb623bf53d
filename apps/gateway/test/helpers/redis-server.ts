import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';

export interface RedisServer {
  readonly path: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** A throwaway redis-server on a unix socket in `dir` (no TCP port, no persistence). */
export async function startRedisServer(dir: string): Promise<RedisServer> {
  const path = join(dir, 'r.sock');
  const child: ChildProcess = spawn(
    '/usr/bin/redis-server',
    ['--port', '0', '--unixsocket', path, '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error('redis-server did not start');
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  for (let i = 0; i < 200 && !existsSync(path); i++) await sleep(25);
  const probe = new Redis({ path, lazyConnect: true });
  await probe.connect();
  await probe.ping();
  probe.disconnect();
  return {
    path,
    pid,
    async stop() {
      if (child.exitCode === null) process.kill(pid, 'SIGKILL');
      await exited;
    },
  };
}

/**
 * A redis-server for the calling test file, with a connection to it: started before its tests,
 * stopped (and its temp dir removed) after them. Read `redis` inside tests, not at load time.
 */
export function useRedisServer(prefix: string): { readonly redis: Redis } {
  let dir = '';
  let server: RedisServer | undefined;
  let redis: Redis | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    server = await startRedisServer(dir);
    redis = new Redis({ path: server.path });
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return {
    get redis(): Redis {
      if (!redis) throw new Error('useRedisServer: redis is only there inside tests');
      return redis;
    },
  };
}
