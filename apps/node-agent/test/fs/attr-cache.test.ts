import { describe, expect, it } from 'vitest';
import { cacheFlags, invalidationFor, OPEN_OK } from '../../src/fs/attr-cache.ts';

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_RDWR = 2;
const O_TRUNC = 0o1000;

describe('cacheFlags (what the native getattr/open may assume)', () => {
  it('encodes the level and that the entry shows whatever its type', () => {
    expect(cacheFlags('/a', 'view', false, false)).toBe(1 | 4);
    expect(cacheFlags('/a', 'read', false, false)).toBe(2 | 4);
    expect(cacheFlags('/a', 'write', false, false)).toBe(3 | 4);
  });

  it('never caches a hidden path, so each probe is denied and audited in JavaScript', () => {
    expect(cacheFlags('/secret', 'none', false, true)).toBeNull();
  });

  it('caches a traversable none directory as shown only when it is a directory', () => {
    expect(cacheFlags('/dir', 'none', true, true)).toBe(0);
  });

  it('shows the root whatever its level', () => {
    expect(cacheFlags('/', 'none', false, false)).toBe(0 | 4);
  });

  it('lets a path be opened natively only at read or write, and only once nothing is left to log', () => {
    expect(cacheFlags('/a', 'read', false, true)! & OPEN_OK).toBe(OPEN_OK);
    expect(cacheFlags('/a', 'write', false, true)! & OPEN_OK).toBe(OPEN_OK);
    expect(cacheFlags('/a', 'read', false, false)! & OPEN_OK).toBe(0);
    expect(cacheFlags('/a', 'view', false, true)! & OPEN_OK).toBe(0);
    expect(cacheFlags('/', 'none', false, true)! & OPEN_OK).toBe(0);
  });
});

describe('invalidationFor (what each operation may re-resolve)', () => {
  const cb = (): void => undefined;

  it.each([
    ['getattr', ['/a', cb]],
    ['readdir', ['/a', cb]],
    ['readlink', ['/a', cb]],
    ['read', ['/a', 3, Buffer.alloc(1), 1, 0, cb]],
    ['write', ['/a', 3, Buffer.alloc(1), 1, 0, cb]],
    ['release', ['/a', 3, cb]],
    ['ftruncate', ['/a', 3, 0, cb]],
    ['chown', ['/a', 0, 0, cb]],
    ['open', ['/a', O_RDONLY, cb]],
  ])('%s changes nothing', (op, args) => {
    expect(invalidationFor(op, args)).toEqual({ kind: 'none' });
  });

  it.each([
    ['open', ['/a/b', O_WRONLY, cb], ['/a/b']],
    ['open', ['/a/b', O_RDWR, cb], ['/a/b']],
    ['open', ['/a/b', O_RDONLY | O_TRUNC, cb], ['/a/b']],
    ['create', ['/a/b', 0o644, cb], ['/a/b']],
    ['mkdir', ['/a/b', 0o755, cb], ['/a/b']],
    ['unlink', ['/a/b', cb], ['/a/b']],
    ['truncate', ['/a/b', 0, cb], ['/a/b']],
    ['chmod', ['/a/b', 0o600, cb], ['/a/b']],
    ['utimens', ['/a/b', 0, 0, cb], ['/a/b']],
    ['symlink', ['target', '/a/l', cb], ['/a/l']],
    ['link', ['/a/b', '/c/d', cb], ['/a/b', '/c/d']],
  ])('%s forgets the paths it touches (and their ancestors)', (op, args, paths) => {
    expect(invalidationFor(op, args)).toEqual({ kind: 'paths', paths, subtree: false });
  });

  it('rename and rmdir forget whole subtrees', () => {
    expect(invalidationFor('rename', ['/a', '/b', cb])).toEqual({
      kind: 'paths',
      paths: ['/a', '/b'],
      subtree: true,
    });
    expect(invalidationFor('rmdir', ['/d', cb])).toEqual({
      kind: 'paths',
      paths: ['/d'],
      subtree: true,
    });
  });

  it('forgets everything for an operation it does not know (fail safe)', () => {
    expect(invalidationFor('mknod', ['/a', 0, 0, cb])).toEqual({ kind: 'all' });
    expect(invalidationFor('fallocate', ['/a'])).toEqual({ kind: 'all' });
  });
});
