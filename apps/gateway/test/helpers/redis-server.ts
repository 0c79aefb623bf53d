import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

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
