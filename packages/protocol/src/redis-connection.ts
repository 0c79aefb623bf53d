// Where Redis is, as gateways, node agents and the CLI are told it (CORDON_REDIS_URL or
// CORDON_REDIS_PATH), turned into the connection options ioredis takes. One parser for all three,
// so a URL one of them accepts is never half-read by another (the services used to keep only
// host and port: a password or database number in the URL was silently dropped).
import { z } from 'zod';

/** ioredis connection options: a unix socket, or TCP (TLS for `rediss:`). */
export type RedisConnection =
  | { readonly path: string }
  | {
      readonly host: string;
      readonly port: number;
      readonly username?: string;
      readonly password?: string;
      readonly db?: number;
      readonly tls?: Record<string, never>;
    };

/**
 * `redis://[user[:password]@]host[:port][/db]`, or `rediss://…` for TLS. Throws a RangeError
 * that says how to write it.
 */
export function parseRedisUrl(raw: string): RedisConnection {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new RangeError(`${raw}: not a Redis URL; write e.g. redis://127.0.0.1:6379`);
  }
  if ((u.protocol !== 'redis:' && u.protocol !== 'rediss:') || !u.hostname) {
    throw new RangeError(`${raw}: not a Redis URL; write e.g. redis://127.0.0.1:6379`);
  }
  const dbText = u.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d{1,5}$/.test(dbText)) {
    throw new RangeError(`${raw}: the path must be a database number, e.g. redis://host:6379/0`);
  }
  if (u.search !== '' || u.hash !== '') {
    throw new RangeError(`${raw}: query and fragment are not supported; use redis://host:port/db`);
  }
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(dbText !== '' ? { db: Number(dbText) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** CORDON_REDIS_URL in a service's environment schema: parsed, or an issue saying how to write it. */
export const RedisUrlSchema = z.string().transform((raw, ctx): RedisConnection => {
  try {
    return parseRedisUrl(raw);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** The connection a service's (parsed) environment names: the socket, else the URL, else local. */
export function redisConnectionFromEnv(env: {
  readonly CORDON_REDIS_PATH?: string | undefined;
  readonly CORDON_REDIS_URL?: RedisConnection | undefined;
}): RedisConnection {
  if (env.CORDON_REDIS_PATH) return { path: env.CORDON_REDIS_PATH };
  return env.CORDON_REDIS_URL ?? { host: '127.0.0.1', port: 6379 };
}
