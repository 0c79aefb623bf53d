import { describe, expect, it } from 'vitest';
import { compilePolicy, type PolicyInput } from '@cordon/policy';

const cases: ReadonlyArray<readonly [string, PolicyInput, string, boolean]> = [
  [
    'only /docs/** → root traversable',
    { rules: [{ pattern: '/docs/**', permission: 'write' }] },
    '/',
    true,
  ],
  [
    'only /docs/** → /src is not',
    { rules: [{ pattern: '/docs/**', permission: 'write' }] },
    '/src',
    false,
  ],
  [
    'only /docs/** → /docs itself visible',
    { rules: [{ pattern: '/docs/**', permission: 'write' }] },
    '/docs',
    true,
  ],
  [
    'deep file rule opens its ancestors',
    { rules: [{ pattern: '/a/b/c.txt', permission: 'read' }] },
    '/a/b',
    true,
  ],
  [
    'deep file rule opens the root',
    { rules: [{ pattern: '/a/b/c.txt', permission: 'read' }] },
    '/',
    true,
  ],
  [
    'deep file rule does not open siblings',
    { rules: [{ pattern: '/a/b/c.txt', permission: 'read' }] },
    '/a/x',
    false,
  ],
  [
    'directory rule opens ancestors',
    { rules: [{ pattern: '/x/y/', permission: 'view' }] },
    '/x',
    true,
  ],
  [
    '**/*.py opens every dir',
    { rules: [{ pattern: '**/*.py', permission: 'read' }] },
    '/deep/er',
    true,
  ],
  [
    'rooted glob opens its literal path',
    { rules: [{ pattern: '/src/*/index.ts', permission: 'read' }] },
    '/src/pkg',
    true,
  ],
  [
    'rooted glob does not open others',
    { rules: [{ pattern: '/src/*/index.ts', permission: 'read' }] },
    '/lib',
    false,
  ],
  [
    'glob segment must match',
    { rules: [{ pattern: '/pkg-*/src/**', permission: 'read' }] },
    '/other',
    false,
  ],
  [
    'glob segment matches',
    { rules: [{ pattern: '/pkg-*/src/**', permission: 'read' }] },
    '/pkg-a',
    true,
  ],
  [
    'glob too short for depth',
    { rules: [{ pattern: '/*.md', permission: 'read' }] },
    '/docs',
    false,
  ],
  ['agent-safe: .git is not traversable', { preset: 'agent-safe' }, '/.git', false],
  ['agent-safe: .git/objects is not traversable', { preset: 'agent-safe' }, '/.git/objects', false],
  [
    'agent-safe: secrets dir is not traversable',
    { preset: 'agent-safe' },
    '/config/secrets',
    false,
  ],
  ['agent-safe: src is', { preset: 'agent-safe' }, '/src', true],
  [
    'agent-safe + visible file inside .git reopens it',
    { preset: 'agent-safe', rules: [{ pattern: '/.git/HEAD', permission: 'read', priority: 200 }] },
    '/.git',
    true,
  ],
  [
    'covered by a stronger none directory rule',
    {
      rules: [
        { pattern: '/vault/', permission: 'none', priority: 9 },
        { pattern: '**/*.txt', permission: 'read' },
      ],
    },
    '/vault/sub',
    false,
  ],
  [
    'a weaker none cover does not hide a stronger positive',
    {
      rules: [
        { pattern: '/vault/', permission: 'none' },
        { pattern: '/vault/pub/*.txt', permission: 'read', priority: 9 },
      ],
    },
    '/vault/pub',
    true,
  ],
  ['none everywhere', { rules: [{ pattern: '**', permission: 'none' }] }, '/', false],
];

describe('canTraverse', () => {
  it.each(cases)('%s', (_name, input, dir, expected) => {
    expect(compilePolicy(input).canTraverse(dir)).toBe(expected);
  });

  it('every ancestor of a visible path is traversable (sampled)', () => {
    const policy = compilePolicy({
      preset: 'agent-safe',
      rules: [{ pattern: '/deep/a/b/c/d.txt', permission: 'read', priority: 500 }],
    });
    for (const dir of ['/', '/deep', '/deep/a', '/deep/a/b', '/deep/a/b/c']) {
      expect(policy.canTraverse(dir)).toBe(true);
    }
  });
});
