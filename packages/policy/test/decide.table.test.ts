import { describe, expect, it } from 'vitest';
import { compilePolicy, type Level, type PolicyInput } from '@cordon/policy';

type Case = readonly [name: string, policy: PolicyInput, path: string, expected: Level];

const agentSafe: PolicyInput = { preset: 'agent-safe' };
const dev: PolicyInput = { preset: 'development' };

// Every example of the issue and of Sandbox-RLS's own tests, then the edges around them.
const cases: readonly Case[] = [
  // Sandbox-RLS's pinned cases
  [
    'rls: file read beats /** none',
    {
      rules: [
        { pattern: '/config.yaml', permission: 'read', type: 'file', priority: 10 },
        { pattern: '/**', permission: 'none', priority: 1 },
      ],
    },
    '/config.yaml',
    'read',
  ],
  [
    'rls: same name deeper is none',
    {
      rules: [
        { pattern: '/config.yaml', permission: 'read', type: 'file', priority: 10 },
        { pattern: '/**', permission: 'none', priority: 1 },
      ],
    },
    '/some/path/config.yaml',
    'none',
  ],
  [
    'rls: directory rule covers itself',
    { rules: [{ pattern: '/docs/', permission: 'write', type: 'directory', priority: 10 }] },
    '/docs',
    'write',
  ],
  [
    'rls: directory rule covers a child',
    { rules: [{ pattern: '/docs/', permission: 'write', type: 'directory', priority: 10 }] },
    '/docs/readme.md',
    'write',
  ],
  [
    'rls: directory rule covers a grandchild',
    { rules: [{ pattern: '/docs/', permission: 'write', type: 'directory', priority: 10 }] },
    '/docs/sub/file.txt',
    'write',
  ],
  [
    'rls: directory rule is anchored',
    { rules: [{ pattern: '/docs/', permission: 'write', type: 'directory', priority: 10 }] },
    '/other/docs/file.txt',
    'none',
  ],
  [
    'rls: *.md anchored at root (match)',
    { rules: [{ pattern: '*.md', permission: 'read', priority: 5 }] },
    '/readme.md',
    'read',
  ],
  [
    'rls: *.md anchored at root (no match below)',
    { rules: [{ pattern: '*.md', permission: 'read', priority: 5 }] },
    '/docs/guide.md',
    'none',
  ],
  [
    'rls: **/*.py at depth',
    { rules: [{ pattern: '**/*.py', permission: 'view', priority: 5 }] },
    '/src/lib/utils.py',
    'view',
  ],
  [
    'rls: **/*.py at root',
    { rules: [{ pattern: '**/*.py', permission: 'view', priority: 5 }] },
    '/setup.py',
    'view',
  ],
  [
    'rls: file none p100 beats directory write p10',
    {
      rules: [
        { pattern: '/docs/secret.txt', permission: 'none', type: 'file', priority: 100 },
        { pattern: '/docs/', permission: 'write', type: 'directory', priority: 10 },
      ],
    },
    '/docs/secret.txt',
    'none',
  ],
  [
    'rls: sibling of that file keeps write',
    {
      rules: [
        { pattern: '/docs/secret.txt', permission: 'none', type: 'file', priority: 100 },
        { pattern: '/docs/', permission: 'write', type: 'directory', priority: 10 },
      ],
    },
    '/docs/public.txt',
    'write',
  ],
  [
    'rls: path normalised (no slash)',
    { rules: [{ pattern: '/docs/readme.md', permission: 'read' }] },
    'docs/readme.md',
    'read',
  ],
  [
    'rls: path normalised (double slash)',
    { rules: [{ pattern: '/docs/readme.md', permission: 'read' }] },
    '/docs//readme.md',
    'read',
  ],
  [
    'rls: path normalised (dot)',
    { rules: [{ pattern: '/docs/readme.md', permission: 'read' }] },
    '/docs/./readme.md',
    'read',
  ],
  [
    'pattern normalised too',
    { rules: [{ pattern: 'docs//./readme.md', permission: 'read' }] },
    '/docs/readme.md',
    'read',
  ],
  // Type inference
  [
    'no metachar → file (exact)',
    { rules: [{ pattern: '/src/main.ts', permission: 'write' }] },
    '/src/main.ts',
    'write',
  ],
  [
    'no metachar → file (not a prefix)',
    { rules: [{ pattern: '/src/main.ts', permission: 'write' }] },
    '/src/main.ts.bak',
    'none',
  ],
  [
    'file rule does not cover children',
    { rules: [{ pattern: '/src', permission: 'write' }] },
    '/src/a.ts',
    'none',
  ],
  [
    'trailing / → directory',
    { rules: [{ pattern: '/build/', permission: 'read' }] },
    '/build/x/y.o',
    'read',
  ],
  [
    'directory is not a name prefix',
    { rules: [{ pattern: '/build/', permission: 'read' }] },
    '/builds/x',
    'none',
  ],
  [
    'root directory rule covers all',
    { rules: [{ pattern: '/', permission: 'view', type: 'directory' }] },
    '/a/b/c',
    'view',
  ],
  [
    'glob with trailing / means dir and below',
    {
      rules: [
        { pattern: '**/node_modules/', permission: 'none', priority: 5 },
        { pattern: '**', permission: 'read' },
      ],
    },
    '/app/node_modules/x/index.js',
    'none',
  ],
  [
    'glob with trailing / hides dir itself',
    {
      rules: [
        { pattern: '**/node_modules/', permission: 'none', priority: 5 },
        { pattern: '**', permission: 'read' },
      ],
    },
    '/app/node_modules',
    'none',
  ],
  [
    'explicit type file keeps * literal',
    { rules: [{ pattern: '/weird*name', permission: 'read', type: 'file' }] },
    '/weird*name',
    'read',
  ],
  [
    'explicit type file: * is not a wildcard',
    { rules: [{ pattern: '/weird*name', permission: 'read', type: 'file' }] },
    '/weirdXname',
    'none',
  ],
  // Glob semantics
  [
    '* does not cross /',
    { rules: [{ pattern: '/src/*', permission: 'read' }] },
    '/src/a/b.ts',
    'none',
  ],
  [
    '* matches one level',
    { rules: [{ pattern: '/src/*', permission: 'read' }] },
    '/src/b.ts',
    'read',
  ],
  [
    '? matches one char',
    { rules: [{ pattern: '/v?.txt', permission: 'read' }] },
    '/v1.txt',
    'read',
  ],
  ['? does not cross /', { rules: [{ pattern: '/a?b', permission: 'read' }] }, '/a/b', 'none'],
  [
    '** crosses depth',
    { rules: [{ pattern: '/src/**/*.ts', permission: 'read' }] },
    '/src/a/b/c/d.ts',
    'read',
  ],
  [
    '**/ matches zero dirs',
    { rules: [{ pattern: '/src/**/*.ts', permission: 'read' }] },
    '/src/d.ts',
    'read',
  ],
  [
    '/** matches the dir it names',
    { rules: [{ pattern: '/docs/**', permission: 'write' }] },
    '/docs',
    'write',
  ],
  [
    '/** does not match a name prefix',
    { rules: [{ pattern: '/docs/**', permission: 'write' }] },
    '/docsx',
    'none',
  ],
  [
    '**/secrets/** hides the secrets dir itself',
    {
      rules: [
        { pattern: '**/*', permission: 'read' },
        { pattern: '**/secrets/**', permission: 'none', priority: 100 },
      ],
    },
    '/config/secrets',
    'none',
  ],
  [
    '**/secrets/** hides a root secrets dir',
    {
      rules: [
        { pattern: '**/*', permission: 'read' },
        { pattern: '**/secrets/**', permission: 'none', priority: 100 },
      ],
    },
    '/secrets',
    'none',
  ],
  ['* matches dotfiles', { rules: [{ pattern: '/*', permission: 'write' }] }, '/.hidden', 'write'],
  [
    '**/* matches dotfiles deep',
    { rules: [{ pattern: '**/*', permission: 'read' }] },
    '/a/.b/.c',
    'read',
  ],
  [
    'dot prefix cannot escape a deny glob',
    {
      rules: [
        { pattern: '**/*', permission: 'read' },
        { pattern: '/private/*', permission: 'none', priority: 10 },
      ],
    },
    '/private/.x',
    'none',
  ],
  [
    'case-sensitive file',
    { rules: [{ pattern: '/README.md', permission: 'read' }] },
    '/readme.md',
    'none',
  ],
  [
    'case-sensitive glob',
    { rules: [{ pattern: '**/*.PEM', permission: 'read' }] },
    '/a.pem',
    'none',
  ],
  ['braces', { rules: [{ pattern: '/src/*.{ts,js}', permission: 'read' }] }, '/src/a.js', 'read'],
  [
    'character class',
    { rules: [{ pattern: '/log[0-9].txt', permission: 'read' }] },
    '/log7.txt',
    'read',
  ],
  [
    'parentheses stay literal in globs',
    { rules: [{ pattern: '/foo(1)/*.txt', permission: 'read' }] },
    '/foo(1)/a.txt',
    'read',
  ],
  [
    '! stays literal',
    { rules: [{ pattern: '/!important/*', permission: 'read' }] },
    '/!important/x',
    'read',
  ],
  [
    '@( stays literal',
    { rules: [{ pattern: '/a/@(x)/*', permission: 'read' }] },
    '/a/@(x)/y',
    'read',
  ],
  [
    'unicode and spaces',
    { rules: [{ pattern: '/dossier été/*.txt', permission: 'read' }] },
    '/dossier été/a b.txt',
    'read',
  ],
  // Winner order
  ['no rule → none', { rules: [] }, '/anything', 'none'],
  ['empty policy → none', {}, '/x', 'none'],
  [
    'higher priority wins over type',
    {
      rules: [
        { pattern: '/a.txt', permission: 'read' },
        { pattern: '**/*', permission: 'write', priority: 1 },
      ],
    },
    '/a.txt',
    'write',
  ],
  [
    'file beats directory at equal priority',
    {
      rules: [
        { pattern: '/d/a', permission: 'read' },
        { pattern: '/d/', permission: 'write' },
      ],
    },
    '/d/a',
    'read',
  ],
  [
    'directory beats glob at equal priority',
    {
      rules: [
        { pattern: '/d/**', permission: 'write' },
        { pattern: '/d/', permission: 'view' },
      ],
    },
    '/d/a',
    'view',
  ],
  [
    'longer directory beats shorter',
    {
      rules: [
        { pattern: '/a/b/', permission: 'read' },
        { pattern: '/a/', permission: 'write' },
      ],
    },
    '/a/b/c',
    'read',
  ],
  [
    'longer directory beats shorter (either order)',
    {
      rules: [
        { pattern: '/a/', permission: 'write' },
        { pattern: '/a/b/', permission: 'read' },
      ],
    },
    '/a/b/c',
    'read',
  ],
  [
    'longer literal prefix glob wins',
    {
      rules: [
        { pattern: '/src/gen/**', permission: 'read' },
        { pattern: '/src/**', permission: 'write' },
      ],
    },
    '/src/gen/x.ts',
    'read',
  ],
  [
    'rooted glob beats ** glob',
    {
      rules: [
        { pattern: '/src/*.ts', permission: 'view' },
        { pattern: '**/*.ts', permission: 'write' },
      ],
    },
    '/src/a.ts',
    'view',
  ],
  [
    'exact glob beats wildcard glob',
    {
      rules: [
        { pattern: '/src/**', permission: 'write' },
        { pattern: '/src/a.ts', permission: 'read', type: 'glob' },
      ],
    },
    '/src/a.ts',
    'read',
  ],
  [
    'later rule wins a full tie',
    {
      rules: [
        { pattern: '**/*.ts', permission: 'read' },
        { pattern: '**/*.ts', permission: 'write' },
      ],
    },
    '/x.ts',
    'write',
  ],
  [
    'later rule wins a full tie (reversed)',
    {
      rules: [
        { pattern: '**/*.ts', permission: 'write' },
        { pattern: '**/*.ts', permission: 'read' },
      ],
    },
    '/x.ts',
    'read',
  ],
  [
    'negative priority loses',
    {
      rules: [
        { pattern: '/a', permission: 'none', priority: -1 },
        { pattern: '**', permission: 'read' },
      ],
    },
    '/a',
    'read',
  ],
  // Presets
  ['agent-safe: source readable', agentSafe, '/src/index.ts', 'read'],
  ['agent-safe: .env hidden', agentSafe, '/.env', 'none'],
  ['agent-safe: .env.local hidden deep', agentSafe, '/app/.env.local', 'none'],
  ['agent-safe: secrets dir hidden', agentSafe, '/config/secrets/db.yaml', 'none'],
  ['agent-safe: keys hidden', agentSafe, '/deploy/server.key', 'none'],
  ['agent-safe: pem hidden', agentSafe, '/deploy/tls/server.pem', 'none'],
  ['agent-safe: credentials hidden', agentSafe, '/credentials.json', 'none'],
  ['agent-safe: .git hidden', agentSafe, '/.git/config', 'none'],
  ['agent-safe: .git dir itself hidden', agentSafe, '/.git', 'none'],
  ['agent-safe: output writable', agentSafe, '/output/report.txt', 'write'],
  ['agent-safe: tmp writable', agentSafe, '/tmp/scratch', 'write'],
  ['agent-safe: secrets beat output', agentSafe, '/output/.env', 'none'],
  ['agent-safe: .gitignore is readable (not .git)', agentSafe, '/.gitignore', 'read'],
  [
    'agent-safe extended: extra rule applies',
    { preset: 'agent-safe', rules: [{ pattern: '/src/**', permission: 'write', priority: 20 }] },
    '/src/a.ts',
    'write',
  ],
  [
    'agent-safe extended: secrets still win',
    { preset: 'agent-safe', rules: [{ pattern: '/src/**', permission: 'write', priority: 20 }] },
    '/src/.env',
    'none',
  ],
  [
    'agent-safe extended: override at higher priority',
    {
      preset: 'agent-safe',
      rules: [{ pattern: '/.env.example', permission: 'read', priority: 200 }],
    },
    '/.env.example',
    'read',
  ],
  ['read-only', { preset: 'read-only' }, '/a/b', 'read'],
  ['full-access', { preset: 'full-access' }, '/a/b', 'write'],
  ['view-only', { preset: 'view-only' }, '/a/.b', 'view'],
  ['development: writable', dev, '/src/a.ts', 'write'],
  ['development: .git writable', dev, '/.git/HEAD', 'write'],
  ['development: .env hidden', dev, '/.env.production', 'none'],
  ['development: credentials not hidden (as AgentFense)', dev, '/credentials.json', 'write'],
  // The traversal example, as a decision
  [
    'only /docs/** → /docs writable',
    { rules: [{ pattern: '/docs/**', permission: 'write' }] },
    '/docs/a.md',
    'write',
  ],
  [
    'only /docs/** → /src none',
    { rules: [{ pattern: '/docs/**', permission: 'write' }] },
    '/src/a.ts',
    'none',
  ],
];

describe('decide: table of rules × paths', () => {
  it('has at least 60 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });
  it.each(cases)('%s', (_name, policy, path, expected) => {
    const compiled = compilePolicy(policy);
    expect(compiled.decide(path)).toBe(expected);
    expect(compiled.explain(path).level).toBe(expected);
    // The canonical form compiles to the same decision: one compilation, two places.
    expect(compilePolicy(compiled.canonical).decide(path)).toBe(expected);
  });
});
