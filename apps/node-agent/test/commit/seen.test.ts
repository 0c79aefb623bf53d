import { describe, expect, it } from 'vitest';
import { sameFingerprint } from '../../src/delta/fingerprint.ts';
import { parseSeenLine } from '../../src/delta/scan.ts';

describe('seen.ndjson records', () => {
  it('parses a fingerprint and an absent entry', () => {
    expect(parseSeenLine('{"path":"/a","fp":{"size":3,"mtimeNs":"17","ino":9}}')).toEqual({
      path: '/a',
      fp: { size: 3, mtimeNs: '17', ino: 9 },
    });
    expect(parseSeenLine('{"path":"/b","fp":null}')).toEqual({ path: '/b', fp: null });
  });

  it.each([
    '{"path":"/a","fp":{"size":3,"mtimeNs":"1"', // torn by a crash mid-append
    '{"path":"a","fp":null}',
    '{"fp":null}',
    '{"path":"/a"}',
    '{"path":"/a","fp":{"size":"3","mtimeNs":"1","ino":1}}',
    'null',
    '42',
  ])('skips %j', (line) => {
    expect(parseSeenLine(line)).toBeNull();
  });

  it('compares fingerprints field by field, null meaning absent', () => {
    const fp = { size: 1, mtimeNs: '5', ino: 7 };
    expect(sameFingerprint(fp, { ...fp })).toBe(true);
    expect(sameFingerprint(fp, { ...fp, ino: 8 })).toBe(false);
    expect(sameFingerprint(fp, { ...fp, mtimeNs: '6' })).toBe(false);
    expect(sameFingerprint(fp, { ...fp, size: 2 })).toBe(false);
    expect(sameFingerprint(null, null)).toBe(true);
    expect(sameFingerprint(null, fp)).toBe(false);
    expect(sameFingerprint(fp, null)).toBe(false);
  });
});
