import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnChild, type Child } from './processes.ts';

/** Answers true once a Redis on the unix socket replies +PONG. */
export function pingRedis(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socketPath);
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => done(d.toString().startsWith('+PONG')));
    s.once('error', () => done(false));
    s.setTimeout(1_000, () => done(false));
  });
}

/** A private redis-server on a unix socket in `dir` (no TCP port, no persistence). */
export async function startRedis(
  dir: string,
  logDir: string,
): Promise<{ child: Child; socket: string }> {
  const socket = path.join(dir, 'redis.sock');
  const { child } = await spawnChild({
    name: 'redis-server',
    argv: [
      'redis-server',
      '--port',
      '0',
      '--unixsocket',
      socket,
      '--unixsocketperm',
      '700',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    logFile: path.join(logDir, 'redis.log'),
  });
  for (let i = 0; i < 400; i++) {
    if (existsSync(socket) && (await pingRedis(socket))) return { child, socket };
    const exited = await Promise.race([child.exited.then(() => true), sleep(25).then(() => false)]);
    if (exited) break;
  }
  await child.stop(1_000);
  throw new Error(
    `redis-server did not come up on ${socket}; see ${path.join(logDir, 'redis.log')} (is redis-server installed?)`,
  );
}
