import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseRedisUrl, redisConnectionFromEnv, RedisUrlSchema } from '../src/redis-connection.ts';

describe('parseRedisUrl', () => {
  it('keeps everything the URL says: credentials, database, TLS, IPv6', () => {
    expect(parseRedisUrl('redis://10.0.0.5:6380')).toEqual({ host: '10.0.0.5', port: 6380 });
    expect(parseRedisUrl('redis://redis.internal')).toEqual({ host: 'redis.internal', port: 6379 });
    expect(parseRedisUrl('redis://:s%40cret@h:1/3')).toEqual({
      host: 'h',
      port: 1,
      password: 's@cret',
      db: 3,
    });
    expect(parseRedisUrl('rediss://cordon:pw@h')).toEqual({
      host: 'h',
      port: 6379,
      username: 'cordon',
      password: 'pw',
      tls: {},
    });
    expect(parseRedisUrl('redis://[::1]:6379/')).toEqual({ host: '::1', port: 6379 });
  });

  it.each([
    ['10.0.0.5:6379', /not a Redis URL/],
    ['http://h:6379', /not a Redis URL/],
    ['redis://h/abc', /database number/],
    ['redis://h/0?x=1', /query/],
    ['nonsense', /not a Redis URL/],
  ])('refuses %s, saying how to write it', (raw, why) => {
    expect(() => parseRedisUrl(raw)).toThrow(why);
  });
});

describe('redisConnectionFromEnv', () => {
  it('prefers the socket, then the URL, then local Redis', () => {
    expect(
      redisConnectionFromEnv({
        CORDON_REDIS_PATH: '/r.sock',
        CORDON_REDIS_URL: { host: 'h', port: 6379 },
      }),
    ).toEqual({ path: '/r.sock' });
    const env = z
      .object({ CORDON_REDIS_URL: RedisUrlSchema.optional() })
      .parse({ CORDON_REDIS_URL: 'redis://:pw@h:7' });
    expect(redisConnectionFromEnv(env)).toEqual({ host: 'h', port: 7, password: 'pw' });
    expect(redisConnectionFromEnv({})).toEqual({ host: '127.0.0.1', port: 6379 });
  });
});

describe('RedisUrlSchema', () => {
  it('turns a bad URL into an issue naming how to write it', () => {
    const r = RedisUrlSchema.safeParse('localhost:6379');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/not a Redis URL; write e\.g\. redis:\/\//);
  });
});
