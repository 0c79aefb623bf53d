import { describe, expect, it } from 'vitest';
import {
  childRel,
  isCanonicalRel,
  parentRel,
  reservedSibling,
  selfAndAncestors,
  sortedUnique,
  toAbs,
} from '../../src/commit/paths.ts';

describe('codebase-relative paths', () => {
  it('parents and children', () => {
    expect(parentRel('/a')).toBe('/');
    expect(parentRel('/a/b/c')).toBe('/a/b');
    expect(childRel('/', 'x')).toBe('/x');
    expect(childRel('/a', 'x y')).toBe('/a/x y');
    expect(toAbs('/code', '/')).toBe('/code');
    expect(toAbs('/code', '/a/b')).toBe('/code/a/b');
  });

  it.each([
    ['/', true],
    ['/a', true],
    ['/a b/ü ✓', true],
    ['/.hidden/..x', true],
    ['', false],
    ['a', false],
    ['/a/', false],
    ['//a', false],
    ['/a/./b', false],
    ['/a/../b', false],
    ['/..', false],
    ['/a\0b', false],
  ])('isCanonicalRel(%j) = %s', (rel, expected) => {
    expect(isCanonicalRel(rel)).toBe(expected);
  });

  it('walks ancestors nearest first, without the root', () => {
    expect([...selfAndAncestors('/a/b/c')]).toEqual(['/a/b/c', '/a/b', '/a']);
    expect([...selfAndAncestors('/')]).toEqual([]);
  });

  it('names reserved siblings independently of the target name', () => {
    const long = `/d/${'x'.repeat(255)}`;
    expect(reservedSibling(long, '.cordon-stage.', 'abcd', 7)).toBe('/d/.cordon-stage.abcd.7');
    expect(reservedSibling('/top', '.cordon-trash.', 'abcd', 0)).toBe('/.cordon-trash.abcd.0');
  });

  it('sorts and deduplicates', () => {
    expect(sortedUnique(['/b', '/a', '/b', '/A'])).toEqual(['/A', '/a', '/b']);
  });
});
