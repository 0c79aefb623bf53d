import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnChild, type Child } from './processes.ts';

/** Answers true once a Redis on the unix socket replies +PONG. */
export async function pingRedis(socketPath: string): Promise<boolean> {
  return (await probeRedis(socketPath)) === null;
}

/**
 * Whether a Redis answers at a unix socket path or TCP address: null when it replied (+PONG, or
 * -NOAUTH when `hasPassword`: the service will authenticate), else why not (ENOENT,
 * ECONNREFUSED, "no reply", "not Redis", or that it wants a password the URL does not carry).
 */
export function probeRedis(
  target: string | { readonly host: string; readonly port: number },
  o: { readonly timeoutMs?: number; readonly hasPassword?: boolean } = {},
): Promise<string | null> {
  const timeoutMs = o.timeoutMs ?? 1_000;
  return new Promise((resolve) => {
    const s = typeof target === 'string' ? connect(target) : connect(target.port, target.host);
    let settled = false;
    const done = (why: string | null) => {
      if (settled) return;
      settled = true;
      s.destroy();
      resolve(why);
    };
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => {
      const reply = d.toString();
      if (reply.startsWith('-NOAUTH') && !o.hasPassword) {
        done('it wants a password: put it in the URL, redis://:PASSWORD@host:port');
      } else {
        done(reply.startsWith('+PONG') || reply.startsWith('-') ? null : 'not Redis');
      }
    });
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    s.once('close', () => done('closed without a reply'));
    s.setTimeout(timeoutMs, () => done(`no reply within ${timeoutMs} ms`));
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
