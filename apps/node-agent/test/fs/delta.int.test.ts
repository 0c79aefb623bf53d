// Copy-on-write semantics, quota, consistency between sandboxes, utimens, lifecycle.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readSeen } from '../../src/delta/scan.ts';
import { cleanupAll, mountFixture, py, sh } from './helpers.ts';

const WRITE_ALL = { rules: [{ pattern: '**/*', permission: 'write' as const }] };

afterEach(cleanupAll);

describe('delta', () => {
  it('reads from the source, copies up on first write, whiteouts deletes', async () => {
    const f = await mountFixture(WRITE_ALL, {
      files: { 'a.txt': 'A\n', 'd/b.txt': 'B\n', 'd/c.txt': 'C\n' },
    });
    expect(
      py(f.mnt, [
        ['read', 'a.txt'],
        ['write', 'a.txt'],
        ['read', 'a.txt'],
        ['unlink', 'd/b.txt'],
        ['list', 'd'],
      ]),
    ).toEqual(['A\n', 'OK', 'A\nx', 'OK', ['c.txt']]);
    expect(fs.readFileSync(path.join(f.src, 'a.txt'), 'utf8')).toBe('A\n');
    expect(fs.readFileSync(path.join(f.delta, 'upper/a.txt'), 'utf8')).toBe('A\nx');
    expect(fs.existsSync(path.join(f.delta, 'upper/d/.cordon-wh.b.txt'))).toBe(true);
    expect(fs.existsSync(path.join(f.src, 'd/b.txt'))).toBe(true);
    const seen = await readSeen(f.delta);
    expect(seen.get('/a.txt')).toMatchObject({ size: 2 });
    expect(seen.has('/d/b.txt')).toBe(true);
  });

  it('records absent paths first seen at create time as null', async () => {
    const f = await mountFixture(WRITE_ALL, { files: { 'x.txt': 'x' } });
    expect(
      py(f.mnt, [
        ['create', 'new.txt'],
        ['mkdir', 'nd'],
      ]),
    ).toEqual(['OK', 'OK']);
    const seen = await readSeen(f.delta);
    expect(seen.get('/new.txt')).toBeNull();
    expect(seen.get('/nd')).toBeNull();
  });

  it('makes a deleted and re-created directory opaque', async () => {
    const f = await mountFixture(WRITE_ALL, {
      files: { 'd/old.txt': 'old', 'd/sub/deep.txt': 'deep' },
    });
    const r = sh('rm -rf d && mkdir d && echo new > d/new.txt && ls -A d', f.mnt);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('new.txt\n');
    expect(fs.existsSync(path.join(f.delta, 'upper/d/.cordon-opaque'))).toBe(true);
    expect(fs.existsSync(path.join(f.src, 'd/old.txt'))).toBe(true);
  });

  it('renames source directories with their merged content', async () => {
    const f = await mountFixture(WRITE_ALL, {
      files: { 'd/a.txt': 'a', 'd/s/b.txt': 'b', 'e/x': 'x' },
    });
    const r = sh(
      'echo changed > d/a.txt && mv d moved && find moved -type f | sort && cat moved/a.txt moved/s/b.txt && ls',
      f.mnt,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('moved/a.txt\nmoved/s/b.txt\nchanged\nbe\nmoved\n');
    expect(fs.existsSync(path.join(f.delta, 'upper/.cordon-wh.d'))).toBe(true);
    expect(fs.existsSync(path.join(f.delta, 'upper/moved/.cordon-opaque'))).toBe(true);
    // Renaming new directories within the delta and back again.
    const r2 = sh(
      'mkdir -p n1/n2 && echo z > n1/n2/z && mv n1 n3 && mv n3 d && cat d/n2/z && ls d',
      f.mnt,
    );
    expect(r2.stderr).toBe('');
    expect(r2.stdout).toBe('z\nn2\n');
  });

  it('fails with ENOSPC beyond the quota and keeps what was written', async () => {
    const f = await mountFixture(WRITE_ALL, {
      files: { 'big.bin': 'y'.repeat(300_000) },
      extra: { quotaBytes: 1_000_000 },
    });
    const r = sh(
      'head -c 600000 /dev/zero > a.bin; echo rc=$?; head -c 600000 /dev/zero > b.bin; echo rc=$?; df -B1 . | tail -1',
      f.mnt,
    );
    expect(r.stdout).toContain('rc=0\n');
    expect(r.stderr).toMatch(/No space left on device/);
    expect(fs.statSync(path.join(f.mnt, 'a.bin')).size).toBe(600_000);
    // A copy-up that would exceed the quota fails before copying anything.
    expect(
      py(f.mnt, [
        ['write', 'big.bin'],
        ['unlink', 'b.bin'],
        ['write', 'big.bin'],
      ]),
    ).toEqual(['ENOSPC', 'OK', 'OK']);
    expect(fs.readFileSync(path.join(f.src, 'big.bin')).length).toBe(300_000);
  });

  it('sets mtime and atime as asked (patched utimens)', async () => {
    const f = await mountFixture(WRITE_ALL, { files: { 't.txt': 't' } });
    const r = sh(
      'touch -a -d @1000000000 t.txt && touch -m -d @1500000000 t.txt && stat -c "%X %Y" t.txt && cp -p t.txt u.txt && stat -c "%Y" u.txt',
      f.mnt,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1000000000 1500000000\n1500000000\n');
    const before = Date.now() / 1000;
    expect(sh('touch t.txt && stat -c %Y t.txt', f.mnt).stdout.trim()).toMatch(/^\d+$/);
    expect(Number(sh('stat -c %Y t.txt', f.mnt).stdout)).toBeGreaterThanOrEqual(
      Math.floor(before) - 1,
    );
  });

  it('drops its picture of the delta after resetDelta', async () => {
    const f = await mountFixture(WRITE_ALL, { files: { 'a.txt': 'A' } });
    expect(py(f.mnt, [['write', 'a.txt']])).toEqual(['OK']);
    const q = await f.fs.quiesce();
    expect(q.openHandles).toBe(0);
    // Stand-in for the committer: apply the delta to the source and clear it.
    fs.copyFileSync(path.join(f.delta, 'upper/a.txt'), path.join(f.src, 'a.txt'));
    fs.rmSync(f.delta, { recursive: true });
    await f.fs.resetDelta();
    expect(
      py(f.mnt, [
        ['read', 'a.txt'],
        ['write', 'a.txt'],
        ['read', 'a.txt'],
      ]),
    ).toEqual(['Ax', 'OK', 'Axx']);
    expect((await f.fs.health()).ok).toBe(true);
  });
});

describe('two sandboxes on one codebase', () => {
  it('apply their own policies and see each other only after a commit', async () => {
    const a = await mountFixture(WRITE_ALL, { files: { 'src/m.ts': 'v1\n', 'secret/k': 'k\n' } });
    const b = await mountFixture(
      {
        rules: [
          { pattern: '**/*', permission: 'read' },
          { pattern: '/secret/**', permission: 'none', priority: 5 },
        ],
      },
      { src: a.src },
    );
    expect(
      py(b.mnt, [
        ['read', 'src/m.ts'],
        ['read', 'secret/k'],
        ['write', 'src/m.ts'],
      ]),
    ).toEqual(['v1\n', 'ENOENT', 'EACCES']);
    expect(py(a.mnt, [['read', 'secret/k']])).toEqual(['k\n']);
    // A writes in its delta: B does not see it.
    expect(sh('echo v2 > src/m.ts', a.mnt).status).toBe(0);
    expect(py(b.mnt, [['read', 'src/m.ts']])).toEqual(['v1\n']);
    // A "commits" (same size and mtime as before: only the inode changes) and B is invalidated.
    const target = path.join(a.src, 'src/m.ts');
    const old = fs.statSync(target);
    const staged = target + '.stage';
    fs.writeFileSync(staged, 'v2\n');
    fs.utimesSync(staged, old.atime, old.mtime);
    fs.renameSync(staged, target);
    await b.fs.invalidate(['/src/m.ts']);
    await b.fs.beforeExec();
    expect(py(b.mnt, [['read', 'src/m.ts']])).toEqual(['v2\n']);
    expect((await b.fs.health()).remounts).toBe(1);
  });
});

describe('lifecycle', () => {
  it('refuses a mount point inside the source', async () => {
    await expect(
      mountFixture(WRITE_ALL, { extra: { mountPoint: '/tmp' } }).catch((e: Error) => e.message),
    ).resolves.toMatch(/overlap|not a directory|already/);
  });

  it('cleans up after the fs host is killed', async () => {
    const f = await mountFixture(WRITE_ALL, { files: { a: 'a' } });
    process.kill(f.fs.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    expect((await f.fs.health()).ok).toBe(false);
    await f.fs.unmount();
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    expect(mounts).not.toContain(f.mnt);
  });
});
