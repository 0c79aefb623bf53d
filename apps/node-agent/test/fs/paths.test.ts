import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ancestorsOf,
  baseName,
  confineLinkTarget,
  hasReservedComponent,
  isWithin,
  joinPath,
  parentOf,
} from '../../src/fs/paths.ts';

describe('mount-relative path helpers', () => {
  it('splits and joins', () => {
    expect(parentOf('/')).toBe('/');
    expect(parentOf('/a')).toBe('/');
    expect(parentOf('/a/b/c')).toBe('/a/b');
    expect(baseName('/a/b c')).toBe('b c');
    expect(joinPath('/', 'x')).toBe('/x');
    expect(joinPath('/a', 'x')).toBe('/a/x');
    expect(ancestorsOf('/')).toEqual([]);
    expect(ancestorsOf('/a')).toEqual([]);
    expect(ancestorsOf('/a/b/c')).toEqual(['/a', '/a/b']);
  });

  it('tells containment by whole components', () => {
    expect(isWithin('/a/b', '/a')).toBe(true);
    expect(isWithin('/a', '/a')).toBe(true);
    expect(isWithin('/ab', '/a')).toBe(false);
    expect(isWithin('/anything', '/')).toBe(true);
  });

  it('spots the reserved prefix in any component, only at its start', () => {
    expect(hasReservedComponent('/.cordon-opaque')).toBe(true);
    expect(hasReservedComponent('/a/.cordon-wh.x/b')).toBe(true);
    expect(hasReservedComponent('/a/x.cordon-y')).toBe(false);
    expect(hasReservedComponent('/.cordonx')).toBe(false);
  });
});

describe('confineLinkTarget (symlink confinement)', () => {
  it.each([
    // [link, stored target, what the kernel is told]
    ['/a/link', 'b', 'b'],
    ['/a/link', './b/', 'b/'],
    ['/a/link', '../x', '../x'],
    ['/a/link', '/etc/passwd', '../etc/passwd'],
    ['/link', '/etc/passwd', 'etc/passwd'],
    ['/a/b/link', '../../../../../etc/shadow', '../../etc/shadow'],
    ['/link', '../../..', '.'],
    ['/a/link', '/', '../'],
    ['/a/b/link', '/a/b/c', 'c'],
    ['/a/b/link', '/a/x/../b/c', 'c'],
  ])('%s → %s becomes %s', (link, target, want) => {
    expect(confineLinkTarget(link, target)).toBe(want);
  });

  it('never climbs above the mount root, whatever the target (property)', () => {
    const seg = fc.constantFrom('a', 'b', '..', '.', '', 'etc');
    const path = fc.array(seg, { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 4 }),
        path,
        fc.boolean(),
        (dir, target, absolute) => {
          const link = '/' + [...dir, 'link'].join('/');
          const out = confineLinkTarget(link, (absolute ? '/' : '') + target.join('/'));
          expect(out.startsWith('/')).toBe(false);
          // Resolving it from the link's directory stays at or below the root.
          let depth = dir.length;
          for (const s of out.split('/')) {
            if (s === '..') depth--;
            else if (s !== '.' && s !== '') depth++;
            expect(depth).toBeGreaterThanOrEqual(0);
          }
        },
      ),
    );
  });
});
