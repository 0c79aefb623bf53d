import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { logRedisErrors } from '../src/index.ts';

describe('logRedisErrors', () => {
  it('logs the first error, then at most one per interval with the count it held back', () => {
    const conn = new EventEmitter();
    const lines: { obj: Record<string, unknown>; msg: string }[] = [];
    let now = 1_000;
    logRedisErrors(
      conn,
      { warn: (obj, msg) => lines.push({ obj: obj as Record<string, unknown>, msg }) },
      'state',
      10_000,
      () => now,
    );
    conn.emit('error', new Error('connect ECONNREFUSED'));
    for (let i = 0; i < 5; i++) {
      now += 1_000;
      conn.emit('error', new Error('connect ECONNREFUSED'));
    }
    expect(lines).toHaveLength(1);
    now += 10_000;
    conn.emit('error', new Error('connect ECONNREFUSED'));
    expect(lines).toHaveLength(2);
    expect(lines[0]?.obj).toMatchObject({
      role: 'state',
      err: 'connect ECONNREFUSED',
      suppressed: 0,
    });
    expect(lines[1]?.obj).toMatchObject({ suppressed: 5 });
  });

  it('is a listener, so an error event no longer goes unhandled', () => {
    const conn = new EventEmitter();
    logRedisErrors(conn, { warn: () => undefined }, 'x');
    expect(() => conn.emit('error', new Error('boom'))).not.toThrow();
    expect(conn.listenerCount('error')).toBe(1);
  });
});
