import type fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listingKey, Listings, settled } from '../../src/fs/listings.ts';

const st = (ino: number, ctimeMs: number, mtimeMs = ctimeMs): fs.Stats =>
  ({ ino, ctimeMs, mtimeMs }) as fs.Stats;
const buf = (s: string): Buffer => Buffer.from(s);

describe('listing keys', () => {
  it('change with any source directory’s inode or change times, and with presence', () => {
    const base = listingKey([st(1, 1000), st(2, 2000)]);
    expect(listingKey([st(1, 1000), st(2, 2000)])).toBe(base);
    expect(listingKey([st(1, 1000), st(2, 2000.5)])).not.toBe(base);
    expect(listingKey([st(1, 1000), st(3, 2000)])).not.toBe(base);
    expect(listingKey([st(1, 1000, 999), st(2, 2000)])).not.toBe(base);
    expect(listingKey([undefined, st(2, 2000)])).not.toBe(listingKey([st(2, 2000)]));
  });

  it('are trusted only for directories changed at least 1 s before the listing began', () => {
    expect(settled([st(1, 1000), undefined], 2000)).toBe(true);
    expect(settled([st(1, 1000), st(2, 1500)], 2000)).toBe(false);
    expect(settled([st(1, 500, 1500)], 2000)).toBe(false);
  });
});

describe('Listings', () => {
  it('answers only for the same key', () => {
    const l = new Listings();
    l.set('/d', 'k1', buf('x'));
    expect(l.get('/d', 'k1')?.toString()).toBe('x');
    expect(l.get('/d', 'k2')).toBeNull();
    expect(l.get('/e', 'k1')).toBeNull();
  });

  it('forgets the listing of a touched path and of its parent', () => {
    const l = new Listings();
    for (const d of ['/', '/a', '/a/b', '/c']) l.set(d, 'k', buf(d));
    l.forget({ kind: 'paths', paths: ['/a/b'], subtree: false });
    expect(l.get('/a/b', 'k')).toBeNull();
    expect(l.get('/a', 'k')).toBeNull();
    expect(l.get('/', 'k')).not.toBeNull();
    expect(l.get('/c', 'k')).not.toBeNull();
  });

  it('forgets whole subtrees for renames and everything when asked', () => {
    const l = new Listings();
    for (const d of ['/', '/a', '/a/b', '/a/b/c', '/ab']) l.set(d, 'k', buf(d));
    l.forget({ kind: 'paths', paths: ['/a'], subtree: true });
    expect(['/', '/a', '/a/b', '/a/b/c', '/ab'].map((d) => l.get(d, 'k') !== null)).toEqual([
      false,
      false,
      false,
      false,
      true,
    ]);
    l.forget({ kind: 'none' });
    expect(l.get('/ab', 'k')).not.toBeNull();
    l.forget({ kind: 'all' });
    expect(l.get('/ab', 'k')).toBeNull();
  });
});
