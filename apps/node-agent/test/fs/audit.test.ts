import { describe, expect, it } from 'vitest';
import { AuditBuffer, DenialLimiter, type DenialEvent } from '../../src/fs/audit.ts';

const ev = (i: number): DenialEvent => ({
  sandboxId: 's',
  op: 'open',
  path: `/f${i}`,
  level: 'view',
  required: 'read',
  at: i,
});

describe('AuditBuffer', () => {
  it('keeps the newest events up to its capacity and counts the evicted', () => {
    const b = new AuditBuffer(3);
    for (let i = 0; i < 5; i++) b.push(ev(i));
    expect(b.list().map((e) => e.path)).toEqual(['/f2', '/f3', '/f4']);
    expect(b.lost).toBe(2);
  });

  it('list() is a copy; drain() empties', () => {
    const b = new AuditBuffer(2);
    b.push(ev(1));
    const l = b.list() as DenialEvent[];
    l.pop();
    expect(b.list()).toHaveLength(1);
    expect(b.drain().map((e) => e.path)).toEqual(['/f1']);
    expect(b.list()).toEqual([]);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses capacity %s', (c) => {
    expect(() => new AuditBuffer(c)).toThrow(RangeError);
  });
});

describe('DenialLimiter (token bucket)', () => {
  it('admits a burst, then drops until tokens refill', () => {
    const l = new DenialLimiter({ burst: 3, perSecond: 2 });
    const at = 1_000_000;
    expect([l.admit(at), l.admit(at), l.admit(at), l.admit(at)]).toEqual([true, true, true, false]);
    expect(l.dropped).toBe(1);
    // 0.5 s later: one token back.
    expect(l.admit(at + 500)).toBe(true);
    expect(l.admit(at + 500)).toBe(false);
    expect(l.dropped).toBe(2);
  });

  it('never holds more than the burst, however long it was idle', () => {
    const l = new DenialLimiter({ burst: 2, perSecond: 100 });
    const admitted = [0, 0, 0].map(() => l.admit(10_000_000)).filter(Boolean).length;
    expect(admitted).toBe(2);
  });

  it('survives a clock going backwards without minting tokens', () => {
    const l = new DenialLimiter({ burst: 1, perSecond: 1 });
    expect(l.admit(5000)).toBe(true);
    expect(l.admit(1000)).toBe(false);
  });

  it('sustains the configured rate', () => {
    const l = new DenialLimiter({ burst: 1, perSecond: 10 });
    let admitted = 0;
    // 10 s of one attempt per millisecond.
    for (let t = 0; t < 10_000; t++) if (l.admit(t)) admitted++;
    expect(admitted).toBeGreaterThanOrEqual(100);
    expect(admitted).toBeLessThanOrEqual(101);
  });
});
