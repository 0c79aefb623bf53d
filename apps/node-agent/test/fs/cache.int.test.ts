// The native getattr/open cache and the kernel caches: every change made through the mount is seen
// at once, changes made to the source outside Cordon within the 1 s attribute/entry timeout,
// hidden and view paths are denied (and audited) on every access however often they are probed,
// a commit pauses natively served requests too, and remounts leave no fusermount behind.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, mountFixture, py, waitFor } from './helpers.ts';

const WRITE_ALL = { rules: [{ pattern: '**/*', permission: 'write' as const }] };
/** Longer than attr_timeout = entry_timeout = negative_timeout = 1 s, with a margin for load. */
const PAST_KERNEL_TTL_MS = 1300;

afterEach(cleanupAll);

describe('native cache: changes made through the mount', () => {
  it('are seen at once after rename, unlink, re-create and copy-up', async () => {
    const f = await mountFixture(WRITE_ALL, {
      files: { 'a.txt': 'A', 'b.txt': 'BB', 'd/x': 'X', 'd/y': 'Y' },
    });
    const results = py(f.mnt, [
      // Twice: the second stat and open are answered natively.
      ['read', 'a.txt'],
      ['read', 'a.txt'],
      ['size', 'a.txt'],
      ['rename', 'b.txt', 'a.txt'],
      ['read', 'a.txt'],
      ['size', 'a.txt'],
      ['exists', 'b.txt'],
      ['unlink', 'a.txt'],
      ['exists', 'a.txt'],
      ['read', 'a.txt'],
      ['put', 'a.txt', 'new'],
      ['read', 'a.txt'],
      ['read', 'd/x'],
      ['read', 'd/x'],
      ['rename', 'd', 'e'],
      ['exists', 'd/x'],
      ['read', 'e/x'],
      ['list', 'e'],
    ]);
    expect(results).toEqual([
      'A',
      'A',
      1,
      'OK',
      'BB',
      2,
      'ABSENT',
      'OK',
      'ABSENT',
      'ENOENT',
      'OK',
      'new',
      'X',
      'X',
      'OK',
      'ABSENT',
      'X',
      ['x', 'y'],
    ]);
  });

  it('shows the new inode after a copy-up and keeps read handles out of the open count', async () => {
    const f = await mountFixture(WRITE_ALL, { files: { 'a.txt': 'A' } });
    const [before, , after] = py(f.mnt, [
      ['ino', 'a.txt'],
      ['write', 'a.txt'],
      ['ino', 'a.txt'],
    ]) as number[];
    expect(before).toBe(fs.lstatSync(path.join(f.src, 'a.txt')).ino);
    expect(after).toBe(fs.lstatSync(path.join(f.delta, 'upper/a.txt')).ino);
    expect(after).not.toBe(before);
    expect(py(f.mnt, [['read', 'a.txt']])).toEqual(['Ax']);
    const q = await f.fs.quiesce();
    expect(q.openHandles).toBe(0);
    await f.fs.resume();
  });
});

describe('native cache: permissions', () => {
  it('denies and audits a view file on every open, however often it is opened', async () => {
    const f = await mountFixture(
      {
        rules: [
          { pattern: '**/*', permission: 'read' },
          { pattern: '/v.txt', permission: 'view', priority: 5 },
        ],
      },
      { files: { 'v.txt': 'secret', 'r.txt': 'r' } },
    );
    expect(
      py(f.mnt, [
        ['stat', 'v.txt'],
        ['read', 'v.txt'],
        ['stat', 'v.txt'],
        ['read', 'v.txt'],
        ['read', 'v.txt'],
        ['read', 'r.txt'],
        ['read', 'r.txt'],
      ]),
    ).toEqual(['OK', 'EACCES', 'OK', 'EACCES', 'EACCES', 'r', 'r']);
    await f.fs.syncDenials();
    const opens = f.fs.denials().filter((d) => d.op === 'open' && d.path === '/v.txt');
    expect(opens).toHaveLength(3);
  });

  it('hides a traversable directory once it is replaced by a file, and reserved names always', async () => {
    const f = await mountFixture(
      { rules: [{ pattern: '/deep/**/visible.txt', permission: 'read' }] },
      {
        files: {
          'deep/sub/visible.txt': 'v',
          'deep/hidden.txt': 'h',
          'deep/.cordon-x/visible.txt': 'r',
        },
      },
    );
    expect(
      py(f.mnt, [
        ['stat', 'deep'],
        ['stat', 'deep'],
        ['list', 'deep'],
        ['stat', 'deep/hidden.txt'],
        ['stat', 'deep/.cordon-x'],
        ['stat', 'deep/.cordon-x/visible.txt'],
        ['read', 'deep/sub/visible.txt'],
      ]),
    ).toEqual(['OK', 'OK', ['sub'], 'ENOENT', 'ENOENT', 'ENOENT', 'v']);
    // Outside Cordon, the traversable directory becomes a file: a none file is never shown.
    fs.rmSync(path.join(f.src, 'deep'), { recursive: true });
    fs.writeFileSync(path.join(f.src, 'deep'), 'now a file');
    await waitFor(PAST_KERNEL_TTL_MS);
    expect(
      py(f.mnt, [
        ['stat', 'deep'],
        ['read', 'deep'],
      ]),
    ).toEqual(['ENOENT', 'ENOENT']);
  });
});

describe('consistency with the source', () => {
  it('sees changes made to the source outside Cordon within the 1 s kernel timeouts', async () => {
    const f = await mountFixture(WRITE_ALL, { files: { 'a.txt': 'old', 'd/keep': 'k' } });
    expect(
      py(f.mnt, [
        ['read', 'a.txt'],
        ['read', 'a.txt'],
        ['list', 'd'],
        ['exists', 'd/new'],
      ]),
    ).toEqual(['old', 'old', ['keep'], 'ABSENT']);
    // An editor's save: new inode, new size; and a new file.
    const tmp = path.join(f.src, '.a.tmp');
    fs.writeFileSync(tmp, 'new content');
    fs.renameSync(tmp, path.join(f.src, 'a.txt'));
    fs.writeFileSync(path.join(f.src, 'd/new'), 'n');
    await waitFor(PAST_KERNEL_TTL_MS);
    expect(
      py(f.mnt, [
        ['read', 'a.txt'],
        ['size', 'a.txt'],
        ['list', 'd'],
        ['read', 'd/new'],
      ]),
    ).toEqual(['new content', 11, ['keep', 'new'], 'n']);
  });

  it('lists a settled directory from its cache only while nothing changed it', async () => {
    const f = await mountFixture(WRITE_ALL, { files: { 'd/a': 'a', 'd/b': 'b', 'd/sub/x': 'x' } });
    // Older than the racy window: its listing is kept after the first readdir.
    await waitFor(PAST_KERNEL_TTL_MS);
    expect(
      py(f.mnt, [
        ['list', 'd'],
        ['list', 'd'],
        ['create', 'd/c'],
        ['list', 'd'],
        ['unlink', 'd/a'],
        ['list', 'd'],
        ['rename', 'd/b', 'd/b2'],
        ['list', 'd'],
        ['rename', 'd/sub', 'e'],
        ['list', 'd'],
        ['list', 'e'],
        ['mkdir', 'd/sub'],
        ['list', 'd/sub'],
      ]),
    ).toEqual([
      ['a', 'b', 'sub'],
      ['a', 'b', 'sub'],
      'OK',
      ['a', 'b', 'c', 'sub'],
      'OK',
      ['b', 'c', 'sub'],
      'OK',
      ['b2', 'c', 'sub'],
      'OK',
      ['b2', 'c'],
      ['x'],
      'OK',
      [],
    ]);
    // Outside Cordon, in settled directories whose listings are kept: seen at the next readdir.
    fs.mkdirSync(path.join(f.src, 'g'));
    fs.writeFileSync(path.join(f.src, 'g/one'), '1');
    await waitFor(PAST_KERNEL_TTL_MS);
    expect(
      py(f.mnt, [
        ['list', '.'],
        ['list', 'g'],
        ['list', 'g'],
      ]),
    ).toEqual([['d', 'e', 'g'], ['one'], ['one']]);
    fs.writeFileSync(path.join(f.src, 'top'), 't');
    fs.rmSync(path.join(f.src, 'g/one'));
    fs.writeFileSync(path.join(f.src, 'g/two'), '2');
    expect(
      py(f.mnt, [
        ['list', '.'],
        ['list', 'g'],
      ]),
    ).toEqual([['d', 'e', 'g', 'top'], ['two']]);
  });

  it('holds natively served opens while a commit has the mount paused', async () => {
    const f = await mountFixture(WRITE_ALL, { files: { 'a.txt': 'A' } });
    expect(
      py(f.mnt, [
        ['read', 'a.txt'],
        ['read', 'a.txt'],
      ]),
    ).toEqual(['A', 'A']);
    await f.fs.quiesce();
    const child = spawn('cat', [path.join(f.mnt, 'a.txt')], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    let done = false;
    void exited.then(() => (done = true));
    await waitFor(400);
    expect(done).toBe(false);
    await f.fs.resume();
    expect(await exited).toBe(0);
    expect(out).toBe('A');
  });
});

describe('fusermount watchdogs', () => {
  const fusermountChildren = (pid: number): number[] =>
    fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .flatMap((d) => {
        try {
          const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
          const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
          const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
          return ppid === pid && comm.startsWith('fusermount') ? [Number(d)] : [];
        } catch {
          return [];
        }
      });

  it('keeps one per mount and leaves neither live nor zombie ones after remounts and unmount', async () => {
    const f = await mountFixture(WRITE_ALL, { files: { a: 'a' } });
    const seen = new Set(fusermountChildren(f.fs.pid));
    expect(seen.size).toBe(1);
    for (let i = 0; i < 2; i++) {
      await f.fs.invalidate(['/a']);
      await f.fs.beforeExec();
      const now = fusermountChildren(f.fs.pid);
      expect(now).toHaveLength(1);
      for (const p of now) seen.add(p);
    }
    expect(seen.size).toBe(3);
    expect(py(f.mnt, [['read', 'a']])).toEqual(['a']);
    await f.fs.unmount();
    for (const p of seen) expect(fs.existsSync(`/proc/${p}`)).toBe(false);
  });
});
