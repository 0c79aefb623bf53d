import { describe, expect, it } from 'vitest';
import { decodeExit } from '../../src/runner/runner.ts';
import { UidPool } from '../../src/runner/uid-pool.ts';
import { parseBwrapVersion, versionAtLeast } from '../../src/host/detect.ts';
import { groupFile, passwdFile } from '../../src/runner/identity.ts';

describe('decodeExit', () => {
  it('maps 128+N from bwrap to the signal', () => {
    expect(decodeExit(137, null)).toEqual({ exitCode: null, signal: 'SIGKILL' });
    expect(decodeExit(143, null)).toEqual({ exitCode: null, signal: 'SIGTERM' });
    expect(decodeExit(3, null)).toEqual({ exitCode: 3, signal: null });
    expect(decodeExit(null, 'SIGKILL')).toEqual({ exitCode: null, signal: 'SIGKILL' });
    expect(decodeExit(255, null)).toEqual({ exitCode: 255, signal: null });
  });
});

describe('UidPool', () => {
  it('hands out distinct uids, reuses released ones, fails when exhausted', () => {
    const pool = new UidPool(5000, 2);
    const a = pool.acquire();
    const b = pool.acquire();
    expect(new Set([a, b])).toEqual(new Set([5000, 5001]));
    expect(() => pool.acquire()).toThrow(/in use/);
    pool.release(a);
    expect(pool.acquire()).toBe(a);
    expect(() => new UidPool(0, 1)).toThrow();
  });
});

describe('host detection helpers', () => {
  it('parses and compares bwrap versions', () => {
    expect(parseBwrapVersion('bubblewrap 0.8.0\n')).toBe('0.8.0');
    expect(parseBwrapVersion('nope')).toBeNull();
    expect(versionAtLeast('0.8.0', [0, 8, 0])).toBe(true);
    expect(versionAtLeast('0.11.1', [0, 8, 0])).toBe(true);
    expect(versionAtLeast('0.7.9', [0, 8, 0])).toBe(false);
  });
});

describe('identity files', () => {
  it('does not duplicate the overflow id', () => {
    expect(passwdFile({ uid: 65534, gid: 65534 }).match(/:65534:/g)).toHaveLength(1);
    expect(groupFile({ gid: 65534 }).match(/:65534:/g)).toHaveLength(1);
  });
});
