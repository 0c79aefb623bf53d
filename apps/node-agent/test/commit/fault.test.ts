import { describe, expect, it } from 'vitest';
import { createFaultInjector, FAULT_POINTS, parseFaultSpec } from '../../src/commit/fault.ts';

describe('crash injection', () => {
  it('parses point and point:N', () => {
    expect(parseFaultSpec('staged')).toEqual({ point: 'staged', nth: 1 });
    expect(parseFaultSpec('applying:7')).toEqual({ point: 'applying', nth: 7 });
  });

  it.each(['nope', 'applying:0', 'applying:x', 'applying:-1', ''])('rejects %j', (spec) => {
    expect(() => parseFaultSpec(spec)).toThrow(/crash point/);
  });

  it('fires exactly at the N-th hit of its point and nowhere else', () => {
    const fired: string[] = [];
    const faults = createFaultInjector('applying:3', () => fired.push('crash'));
    for (const point of FAULT_POINTS) faults.hit(point); // applying: 1st hit
    faults.hit('applying'); // 2nd
    expect(fired).toEqual([]);
    faults.hit('applying'); // 3rd
    expect(fired).toEqual(['crash']);
    faults.hit('applying');
    expect(fired).toEqual(['crash']);
  });

  it('is inert without a spec', () => {
    const fired: string[] = [];
    for (const spec of [undefined, '']) {
      const faults = createFaultInjector(spec, () => fired.push('crash'));
      for (const point of FAULT_POINTS) faults.hit(point);
    }
    // createFaultInjector(undefined) reads the environment; the test runner does not set it.
    expect(fired).toEqual([]);
  });
});
