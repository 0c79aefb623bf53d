// The permission table: every operation at every level, plus escapes (symlinks, hard links,
// renames, traversal, dotfiles, reserved names) and files created after the mount started.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, mountFixture, py, waitFor, type Fixture, type PyOp } from './helpers.ts';

const POLICY = {
  rules: [
    { pattern: '**/*', permission: 'read' as const, priority: 0 },
    { pattern: '/w/**', permission: 'write' as const, priority: 10 },
    { pattern: '/v/**', permission: 'view' as const, priority: 10 },
    { pattern: '/n/**', permission: 'none' as const, priority: 10 },
    { pattern: '/t/**', permission: 'none' as const, priority: 10 },
    { pattern: '/t/deep/ok/**', permission: 'write' as const, priority: 20 },
    { pattern: '**/.env*', permission: 'none' as const, priority: 100 },
  ],
};

const LEVEL_DIRS = { none: 'n', view: 'v', read: 'r', write: 'w' } as const;
type L = keyof typeof LEVEL_DIRS;
const OPS = [
  'stat',
  'read',
  'write',
  'trunc',
  'unlink',
  'rename',
  'chmod',
  'utime',
  'chown',
  'link',
  'getxattr',
  'mmap',
  'access_w',
] as const;

function files(): Record<string, string | { link: string } | null> {
  const out: Record<string, string | { link: string } | null> = {};
  for (const d of Object.values(LEVEL_DIRS)) {
    for (const op of OPS) out[`${d}/${op}.txt`] = `content of ${d}/${op}\n`;
    out[`${d}/emptydir`] = null;
    out[`${d}/sub/inner.txt`] = 'inner\n';
  }
  Object.assign(out, {
    'w/.env': 'TOKEN=1\n',
    'w/.envrc': 'x\n',
    'w/.gitignore': 'node_modules\n',
    't/deep/ok/f.txt': 'reachable\n',
    't/deep/hidden.txt': 'hidden\n',
    't/other/x.txt': 'hidden\n',
    'w/l-none': { link: '../n/read.txt' },
    'w/l-read': { link: '../r/read.txt' },
    'w/l-abs': { link: '/r/read.txt' },
    'w/l-escape': { link: '../../../../../../etc/hostname' },
    'w/l-abs-escape': { link: '/etc/hostname' },
    'w/l-env': { link: '.env' },
    'v/l-to-read': { link: '../r/read.txt' },
    'r/l-to-write': { link: '../w/read.txt' },
  });
  return out;
}

/** Expected result per op and level, for the per-level files. */
function expected(op: (typeof OPS)[number], level: L): string {
  // os.access answers yes/no, never an errno.
  if (op === 'access_w') return level === 'write' ? 'OK' : 'NO';
  if (level === 'none') return 'ENOENT';
  switch (op) {
    case 'stat':
      return 'OK';
    case 'read':
    case 'mmap':
    case 'getxattr':
      if (level === 'view') return 'EACCES';
      return op === 'getxattr' ? 'ENODATA' : 'OK';
    default:
      return level === 'write' ? 'OK' : 'EACCES';
  }
}

function opCall(op: (typeof OPS)[number], d: string): PyOp {
  const f = `${d}/${op}.txt`;
  switch (op) {
    case 'rename':
      return ['rename', f, `${d}/renamed.txt`];
    case 'link':
      return ['link', f, `w/hardlink-from-${d}.txt`];
    default:
      return [op, f];
  }
}

interface Case {
  readonly name: string;
  readonly op: PyOp;
  readonly want: unknown;
}

function table(): Case[] {
  const cases: Case[] = [];
  for (const [level, d] of Object.entries(LEVEL_DIRS) as [L, string][]) {
    for (const op of OPS) {
      let want: unknown = expected(op, level);
      // A hard link from a write-level file lands in /w: fine. From below write: refused.
      if (op === 'read' && want === 'OK') want = `content of ${d}/read\n`;
      cases.push({ name: `${op} on a ${level} file`, op: opCall(op, d), want });
    }
    const dirWant = (w: string): string => (level === 'none' ? 'ENOENT' : w);
    cases.push({
      name: `create in a ${level} dir`,
      op: ['create', `${d}/new.txt`],
      want: dirWant(level === 'write' ? 'OK' : 'EACCES'),
    });
    cases.push({
      name: `mkdir in a ${level} dir`,
      op: ['mkdir', `${d}/newdir`],
      want: dirWant(level === 'write' ? 'OK' : 'EACCES'),
    });
    cases.push({
      name: `symlink in a ${level} dir`,
      op: ['symlink', 'x', `${d}/newlink`],
      want: dirWant(level === 'write' ? 'OK' : 'EACCES'),
    });
    cases.push({
      name: `rmdir of an empty ${level} dir`,
      op: ['rmdir', `${d}/emptydir`],
      want: dirWant(level === 'write' ? 'OK' : 'EACCES'),
    });
    cases.push({
      name: `list a ${level} dir`,
      op: ['list', `${d}/sub`],
      want: level === 'none' ? 'ENOENT' : ['inner.txt'],
    });
    cases.push({
      name: `rename a ${level} dir`,
      op: ['rename', `${d}/sub`, `${d}/sub2`],
      want: dirWant(level === 'write' ? 'OK' : 'EACCES'),
    });
  }
  cases.push(
    // The root lists only visible entries; /n and /t/other never show up.
    { name: 'root lists visible entries only', op: ['list', '.'], want: ['r', 't', 'v', 'w'] },
    { name: 'traversal dir lists only the way down', op: ['list', 't'], want: ['deep'] },
    { name: 'traversal leaf dir lists only visible entries', op: ['list', 't/deep'], want: ['ok'] },
    { name: 'write below a traversal dir works', op: ['write', 't/deep/ok/f.txt'], want: 'OK' },
    {
      name: 'hidden sibling in traversal dir is absent',
      op: ['stat', 't/deep/hidden.txt'],
      want: 'ENOENT',
    },
    { name: 'hidden dir under traversal is absent', op: ['stat', 't/other'], want: 'ENOENT' },
    {
      name: 'create in a traversal (none) dir is refused',
      op: ['create', 't/deep/new.txt'],
      want: 'EACCES',
    },
    {
      name: 'mkdir in a traversal (none) dir is refused',
      op: ['mkdir', 't/newdir'],
      want: 'EACCES',
    },
    { name: 'rmdir of a traversal dir is refused', op: ['rmdir', 't/other'], want: 'ENOENT' },
    { name: 'dotfile .env is absent', op: ['stat', 'w/.env'], want: 'ENOENT' },
    { name: 'dotfile .envrc is absent', op: ['read', 'w/.envrc'], want: 'ENOENT' },
    { name: 'other dotfiles are visible', op: ['read', 'w/.gitignore'], want: 'node_modules\n' },
    { name: 'dotfiles absent from listings', op: ['exists', 'w/.envrc'], want: 'ABSENT' },
    {
      name: 'creating an existing none file fails like a new one',
      op: ['create', 'w/.env'],
      want: 'EACCES',
    },
    {
      name: 'creating a new none file fails the same way',
      op: ['create', 'w/.env.local'],
      want: 'EACCES',
    },
    { name: 'mkdir at a none path is refused', op: ['mkdir', 'w/.envdir'], want: 'EACCES' },
    { name: 'symlink at a none path is refused', op: ['symlink', 'x', 'w/.env2'], want: 'EACCES' },
    {
      name: 'rename onto an existing none path is refused',
      op: ['rename', 'w/write.txt', 'w/.env'],
      want: 'EACCES',
    },
    {
      name: 'rename onto a new none path is refused',
      op: ['rename', 'w/write.txt', 'w/.env9'],
      want: 'EACCES',
    },
    {
      name: 'rename of a read file into a writable dir is refused',
      op: ['rename', 'r/write.txt', 'w/stolen.txt'],
      want: 'EACCES',
    },
    {
      name: 'rename of a view file into a writable dir is refused',
      op: ['rename', 'v/write.txt', 'w/stolen2.txt'],
      want: 'EACCES',
    },
    {
      name: 'rename of a write file into a read dir is refused',
      op: ['rename', 'w/trunc.txt', 'r/moved.txt'],
      want: 'EACCES',
    },
    {
      name: 'hard link of a none file is refused',
      op: ['link', 'w/.env', 'w/env-link'],
      want: 'ENOENT',
    },
    { name: 'symlink to a none file does not open it', op: ['read', 'w/l-none'], want: 'ENOENT' },
    { name: 'symlink to a none dotfile does not open it', op: ['read', 'w/l-env'], want: 'ENOENT' },
    {
      name: 'symlink to a read file reads it',
      op: ['read', 'w/l-read'],
      want: 'content of r/read\n',
    },
    {
      name: 'writing through a symlink to a read file is refused',
      op: ['write', 'w/l-read'],
      want: 'EACCES',
    },
    {
      name: 'absolute symlink resolves inside the mount',
      op: ['read', 'w/l-abs'],
      want: 'content of r/read\n',
    },
    {
      name: 'absolute symlink target is rewritten relative',
      op: ['readlink', 'w/l-abs'],
      want: '../r/read.txt',
    },
    { name: '../.. symlink does not reach the host', op: ['read', 'w/l-escape'], want: 'ENOENT' },
    {
      name: 'absolute symlink does not reach the host',
      op: ['read', 'w/l-abs-escape'],
      want: 'ENOENT',
    },
    {
      name: 'symlink in a view dir cannot be followed',
      op: ['read', 'v/l-to-read'],
      want: 'EACCES',
    },
    {
      name: 'symlink in a view dir cannot be read',
      op: ['readlink', 'v/l-to-read'],
      want: 'EACCES',
    },
    {
      name: 'symlink in a read dir reaches its write target',
      op: ['read', 'r/l-to-write'],
      want: 'content of w/read\n',
    },
    {
      name: 'reserved names are not creatable',
      op: ['create', 'w/.cordon-wh.read.txt'],
      want: 'EACCES',
    },
    { name: 'reserved names are absent', op: ['stat', 'w/.cordon-opaque'], want: 'ENOENT' },
    { name: 'mkdir with a reserved name is refused', op: ['mkdir', 'w/.cordon-x'], want: 'EACCES' },
    { name: 'view listxattr is refused', op: ['listxattr', 'v/stat.txt'], want: 'EACCES' },
    { name: 'read listxattr works', op: ['listxattr', 'r/stat.txt'], want: 'OK' },
    { name: 'dot-dot path cannot leave the mount', op: ['stat', '../src/n/stat.txt'], want: 'OK' },
  );
  return cases;
}

describe('permission table', () => {
  let f: Fixture;
  let results: unknown[];
  const cases = table();

  beforeAll(async () => {
    f = await mountFixture(POLICY, { files: files() });
    results = py(
      f.mnt,
      cases.map((c) => c.op),
    );
  });
  afterAll(cleanupAll);

  it('has at least 80 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(80);
  });

  it.each(cases.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    expect(results[i]).toEqual(cases[i]!.want);
  });

  it('left the source untouched and wrote only to the delta', () => {
    expect(fs.readFileSync(path.join(f.src, 'w/write.txt'), 'utf8')).toBe('content of w/write\n');
    expect(fs.existsSync(path.join(f.src, 'w/new.txt'))).toBe(false);
    expect(fs.existsSync(path.join(f.delta, 'upper/w/new.txt'))).toBe(true);
  });

  it('audits denials with level and required level', async () => {
    await waitFor(300);
    const events = f.fs.denials();
    expect(events.length).toBeGreaterThan(10);
    expect(events).toContainEqual(
      expect.objectContaining({
        op: 'open',
        path: '/r/write.txt',
        level: 'read',
        required: 'write',
        sandboxId: f.fs.sandboxId,
      }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        op: 'create',
        path: '/w/.env.local',
        level: 'none',
        required: 'write',
      }),
    );
  });

  it('enforces rules on files created in the source after the mount started', async () => {
    fs.writeFileSync(path.join(f.src, 'w/.env.late'), 'late secret\n');
    fs.writeFileSync(path.join(f.src, 'v/late.txt'), 'late view\n');
    fs.writeFileSync(path.join(f.src, 'w/late.txt'), 'late write\n');
    await waitFor(1200); // negative entries cached for negative_timeout (1 s)
    expect(
      py(f.mnt, [
        ['read', 'w/.env.late'],
        ['read', 'v/late.txt'],
        ['stat', 'v/late.txt'],
        ['read', 'w/late.txt'],
      ]),
    ).toEqual(['ENOENT', 'EACCES', 'OK', 'late write\n']);
  });
});
