// commitDelta on real directories: what lands in the codebase (types, contents, modes, mtimes,
// symlinks, type changes, renamed and opaque directories, odd names, large files), what the
// result lists, and that the delta is cleared — or kept, or discarded.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { clearDelta, discardDelta } from '../../src/delta/clear.ts';
import { CommitError, commitDelta } from '../../src/commit/index.ts';
import {
  buildFixture,
  EXPECTED,
  makeTempDir,
  materialise,
  sha256File,
  snapshotTree,
  type Fixture,
} from './support.ts';

const run = promisify(execFile);
const cleanup: string[] = [];

afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function fixture(bigBytes?: number): Promise<Fixture> {
  const f = await buildFixture(bigBytes);
  cleanup.push(f.base);
  return f;
}

function optionsOf(f: Fixture): { codebaseDir: string; deltaDir: string; stateDir: string } {
  return { codebaseDir: f.codebase, deltaDir: f.delta, stateDir: f.state };
}

async function read(f: Fixture, rel: string): Promise<string> {
  return fs.readFile(path.join(f.codebase, rel), 'utf8');
}

describe('commitDelta applies a delta', () => {
  it('lists what changed and lands every kind of change in the codebase', async () => {
    const f = await fixture();
    const result = await commitDelta({ ...optionsOf(f), mode: 'lww' });
    expect(result).toEqual({ committed: true, ...EXPECTED });

    const tree = await snapshotTree(f.codebase);
    // Modified and new files, with their modes and mtimes from the delta.
    expect(await read(f, 'src/b.ts')).toBe('b v2, longer than before\n');
    expect(tree['/src/exec.sh']).toMatchObject({ mode: 0o755, mtimeNs: '1700000015000000000' });
    expect(tree['/new.txt']).toMatchObject({ type: 'file', mode: 0o600, size: 4 });
    expect(tree['/readonly.txt']).toMatchObject({ mode: 0o444 });
    expect(tree['/empty-new.txt']).toMatchObject({ type: 'file', size: 0 });
    expect(tree['/empty-src.txt']).toMatchObject({ type: 'file', size: 0 });
    expect(await read(f, 'with space/ünïcode ✓.txt')).toBe('v2\n');
    // Deleted files and whole directories; a whiteout of something absent is a no-op.
    for (const gone of [
      '/src/del.ts',
      '/old-dir',
      '/renamed-from',
      '/opaque-dir/gone.txt',
      '/opaque-dir/sub',
    ]) {
      expect(tree[gone], gone).toBeUndefined();
    }
    // A renamed directory arrives whole; the opaque one holds exactly the delta's entries.
    expect(await read(f, 'renamed-to/deep/f2.txt')).toBe('f2\n');
    expect(Object.keys(tree).filter((p) => p.startsWith('/opaque-dir/'))).toEqual([
      '/opaque-dir/fresh.txt',
      '/opaque-dir/kept-name.txt',
    ]);
    expect(tree['/opaque-dir']).toMatchObject({ type: 'dir', mode: 0o750 });
    // Type changes both ways.
    expect(tree['/file-to-dir']).toMatchObject({ type: 'dir' });
    expect(await read(f, 'file-to-dir/inner.txt')).toBe('now inside a dir\n');
    expect(tree['/dir-to-file']).toMatchObject({ type: 'file' });
    expect(tree['/dir-to-file/inner.txt']).toBeUndefined();
    // Symlinks are copied as links, never followed (a dangling one stays dangling).
    expect(tree['/link-old']).toMatchObject({ type: 'symlink', target: 'README.md' });
    expect(tree['/link-new']).toMatchObject({ type: 'symlink', target: 'src/b.ts' });
    expect(tree['/dangling']).toMatchObject({ type: 'symlink', target: 'does/not/exist' });
    // New directories (also empty ones) and directory modes.
    expect(tree['/emptydir']).toMatchObject({ type: 'dir', mode: 0o700 });
    expect(tree['/chmod-dir']).toMatchObject({ type: 'dir', mode: 0o700 });
    expect(tree['/ro-dir']).toMatchObject({ type: 'dir', mode: 0o555 });
    expect(await read(f, 'ro-dir/new.txt')).toBe('added to a read-only dir\n');
    // Untouched entries stay; no reserved name is left anywhere.
    expect(await read(f, 'unchanged/u.txt')).toBe('u\n');
    expect(Object.keys(tree).filter((p) => p.includes('.cordon-'))).toEqual([]);

    // The delta is cleared: upper/ and work/ exist and are empty, seen.ndjson is truncated.
    expect(await fs.readdir(path.join(f.delta, 'upper'))).toEqual([]);
    expect(await fs.readdir(path.join(f.delta, 'work'))).toEqual([]);
    expect(await fs.readFile(path.join(f.delta, 'seen.ndjson'), 'utf8')).toBe('');
  });

  it('copies a large file by streaming it, bit for bit', async () => {
    const f = await fixture(96 << 20);
    const expected = await sha256File(path.join(f.delta, 'upper', 'big.bin'));
    const started = performance.now();
    await commitDelta(optionsOf(f));
    const elapsedMs = performance.now() - started;
    const stat = await fs.stat(path.join(f.codebase, 'big.bin'));
    expect(stat.size).toBe(96 << 20);
    expect(await sha256File(path.join(f.codebase, 'big.bin'))).toBe(expected);
    console.info(`commit of a delta with a 96 MiB file: ${elapsedMs.toFixed(0)} ms`);
  });

  it('keeps the exec bit: the committed script runs', async () => {
    const f = await fixture();
    await commitDelta(optionsOf(f));
    const { stdout } = await run(path.join(f.codebase, 'src', 'exec.sh'));
    expect(stdout).toBe('hi\n');
  });

  it('commits an empty delta (and one without upper/) as a no-op', async () => {
    const base = await makeTempDir('commit-empty');
    cleanup.push(base);
    const codebase = path.join(base, 'codebase');
    await materialise(codebase, [{ file: 'a.txt', content: 'a' }]);
    const before = await snapshotTree(codebase);
    const empty = path.join(base, 'empty');
    await fs.mkdir(path.join(empty, 'upper'), { recursive: true });
    const nothing = { committed: true, added: [], modified: [], deleted: [], conflicts: [] };
    expect(
      await commitDelta({ codebaseDir: codebase, deltaDir: empty, stateDir: path.join(base, 's') }),
    ).toEqual(nothing);
    expect(
      await commitDelta({
        codebaseDir: codebase,
        deltaDir: path.join(base, 'missing'),
        stateDir: path.join(base, 's'),
      }),
    ).toEqual(nothing);
    expect(await snapshotTree(codebase)).toEqual(before);
  });

  it('refuses a delta holding a fifo, leaving codebase and delta untouched', async () => {
    const f = await fixture();
    await run('mkfifo', [path.join(f.delta, 'upper', 'newdir', 'nested', 'pipe')]);
    const before = await snapshotTree(f.codebase);
    const deltaBefore = await snapshotTree(f.delta);
    const error = await commitDelta(optionsOf(f)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommitError);
    expect((error as CommitError).code).toBe('UNSUPPORTED_ENTRY');
    expect(await snapshotTree(f.codebase)).toEqual(before);
    expect(await snapshotTree(f.delta)).toEqual(deltaBefore);
  });

  it('rolls back a commit whose staging fails (ENOSPC): codebase, delta and state untouched', async () => {
    const f = await fixture(4 << 20);
    // The codebase lives on a 2 MiB tmpfs: staging the 4 MiB file cannot fit.
    const small = path.join(f.base, 'small');
    await fs.mkdir(small);
    await run('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small]);
    try {
      const codebase = path.join(small, 'codebase');
      await run('cp', ['-a', f.codebase, codebase]);
      const before = await snapshotTree(codebase);
      const deltaBefore = await snapshotTree(f.delta);
      const error = await commitDelta({ ...optionsOf(f), codebaseDir: codebase }).catch(
        (e: unknown) => e,
      );
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
      expect(await snapshotTree(codebase)).toEqual(before);
      expect(await snapshotTree(f.delta)).toEqual(deltaBefore);
      const stateFiles = await fs.readdir(path.join(f.state, 'codebases'), { recursive: true });
      expect(stateFiles.filter((n) => n.includes('journal') || n.endsWith('lock'))).toEqual([]);
    } finally {
      await run('umount', [small]);
    }
  });

  it('fails with CODEBASE_INVALID for a missing codebase', async () => {
    const f = await fixture();
    const error = await commitDelta({
      ...optionsOf(f),
      codebaseDir: path.join(f.base, 'nope'),
    }).catch((e: unknown) => e);
    expect((error as CommitError).code).toBe('CODEBASE_INVALID');
  });

  it('never writes through a symlink that replaced a directory in the source', async () => {
    // The delta writes /src/b.ts; meanwhile /src became a symlink to a directory outside the codebase.
    const f = await fixture();
    const outside = path.join(f.base, 'outside');
    await fs.mkdir(outside);
    await fs.rm(path.join(f.codebase, 'src'), { recursive: true });
    await fs.symlink(outside, path.join(f.codebase, 'src'));
    const result = await commitDelta(optionsOf(f));
    expect(result.committed).toBe(true);
    expect(await fs.readdir(outside)).toEqual([]);
    expect((await fs.lstat(path.join(f.codebase, 'src'))).isDirectory()).toBe(true);
    expect(await read(f, 'src/b.ts')).toBe('b v2, longer than before\n');
  });
});

describe('clearing and discarding a delta', () => {
  it('discardDelta drops every change and leaves the codebase untouched', async () => {
    const f = await fixture();
    await fs.writeFile(path.join(f.delta, 'work', 'half-copied'), 'x');
    const before = await snapshotTree(f.codebase);
    await discardDelta(f.delta);
    expect(await snapshotTree(f.codebase)).toEqual(before);
    expect(await fs.readdir(path.join(f.delta, 'upper'))).toEqual([]);
    expect(await fs.readdir(path.join(f.delta, 'work'))).toEqual([]);
    expect(await fs.readFile(path.join(f.delta, 'seen.ndjson'), 'utf8')).toBe('');
    // Committing the discarded delta changes nothing.
    const result = await commitDelta(optionsOf(f));
    expect(result).toEqual({
      committed: true,
      added: [],
      modified: [],
      deleted: [],
      conflicts: [],
    });
    expect(await snapshotTree(f.codebase)).toEqual(before);
  });

  it('truncates seen.ndjson in place, so an append-mode writer keeps working', async () => {
    const f = await fixture();
    const seen = path.join(f.delta, 'seen.ndjson');
    const handle = await fs.open(seen, 'a');
    try {
      await clearDelta(f.delta);
      await handle.write('{"path":"/x","fp":null}\n');
    } finally {
      await handle.close();
    }
    expect(await fs.readFile(seen, 'utf8')).toBe('{"path":"/x","fp":null}\n');
  });

  it('tolerates a missing delta directory and recreates a missing upper/', async () => {
    const f = await fixture();
    await clearDelta(path.join(f.base, 'no-such-delta'));
    await fs.rm(path.join(f.delta, 'upper'), { recursive: true });
    await clearDelta(f.delta);
    expect(await fs.readdir(path.join(f.delta, 'upper'))).toEqual([]);
  });
});
