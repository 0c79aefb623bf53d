// Several sandboxes (deltas) committing to one codebase: last writer wins, and the later commit
// reports what it overwrote although another commit changed it after this sandbox first saw it.
// Also concurrent commits — in one process (with and without a CommitQueue) and across processes.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { currentFingerprint } from '../../src/delta/fingerprint.ts';
import { CommitQueue, commitDelta, type CommitResult } from '../../src/commit/index.ts';
import { makeTempDir, materialise, runChild, snapshotTree } from './support.ts';

const cleanup: string[] = [];

afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

interface World {
  readonly base: string;
  readonly codebase: string;
  readonly state: string;
}

async function world(): Promise<World> {
  const base = await makeTempDir('conflicts');
  cleanup.push(base);
  const codebase = path.join(base, 'codebase');
  await materialise(codebase, [
    { file: 'shared.txt', content: 'original\n' },
    { file: 'other.txt', content: 'other\n' },
    { file: 'd/one.txt', content: '1\n' },
  ]);
  return { base, codebase, state: path.join(base, 'state') };
}

interface SandboxChanges {
  /** Files written in the delta: relative path → content. */
  readonly write?: Record<string, string>;
  /** Whiteouts: relative paths deleted. */
  readonly remove?: readonly string[];
  /** Directories deleted and re-created (opaque). */
  readonly opaque?: readonly string[];
  /** Paths the sandbox looked at in the source (fingerprinted now, as the fs host does on first sight). */
  readonly seen?: readonly string[];
}

/** A delta as the fs host would leave it after an exec that made `changes`. */
async function sandbox(w: World, name: string, changes: SandboxChanges): Promise<string> {
  const delta = path.join(w.base, name);
  const upper = path.join(delta, 'upper');
  await fs.mkdir(upper, { recursive: true });
  await fs.mkdir(path.join(delta, 'work'));
  for (const dir of changes.opaque ?? []) {
    await fs.mkdir(path.join(upper, dir), { recursive: true });
    await fs.writeFile(path.join(upper, dir, '.cordon-opaque'), '');
  }
  for (const [rel, content] of Object.entries(changes.write ?? {})) {
    await fs.mkdir(path.dirname(path.join(upper, rel)), { recursive: true });
    await fs.writeFile(path.join(upper, rel), content);
  }
  for (const rel of changes.remove ?? []) {
    const dir = path.dirname(path.join(upper, rel));
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, `.cordon-wh.${path.basename(rel)}`), '');
  }
  const lines: string[] = [];
  for (const rel of changes.seen ?? []) {
    const fp = await currentFingerprint(path.join(w.codebase, rel));
    lines.push(JSON.stringify({ path: `/${rel}`, fp }));
  }
  await fs.writeFile(path.join(delta, 'seen.ndjson'), lines.map((l) => `${l}\n`).join(''));
  return delta;
}

function commit(
  w: World,
  deltaDir: string,
  extra: Partial<Parameters<typeof commitDelta>[0]> = {},
): Promise<CommitResult> {
  return commitDelta({ codebaseDir: w.codebase, deltaDir, stateDir: w.state, ...extra });
}

async function content(w: World, rel: string): Promise<string | null> {
  return fs.readFile(path.join(w.codebase, rel), 'utf8').catch(() => null);
}

describe('two sandboxes on one codebase', () => {
  it('both overwrite the same file: last writer wins and reports the conflict', async () => {
    const w = await world();
    // Both sandboxes read shared.txt before either commits.
    const a = await sandbox(w, 'a', { write: { 'shared.txt': 'from A\n' }, seen: ['shared.txt'] });
    const b = await sandbox(w, 'b', {
      write: { 'shared.txt': 'from B\n' },
      seen: ['shared.txt', 'other.txt'],
    });
    const ra = await commit(w, a);
    expect(ra).toEqual({
      committed: true,
      added: [],
      modified: ['/shared.txt'],
      deleted: [],
      conflicts: [],
    });
    const rb = await commit(w, b);
    expect(rb).toEqual({
      committed: true,
      added: [],
      modified: ['/shared.txt'],
      deleted: [],
      conflicts: ['/shared.txt'],
    });
    expect(await content(w, 'shared.txt')).toBe('from B\n');
  });

  it('detects the change by inode even when size and mtime match', async () => {
    const w = await world();
    const a = await sandbox(w, 'a', { write: { 'shared.txt': 'AAAAAAAAA' }, seen: ['shared.txt'] });
    const b = await sandbox(w, 'b', { write: { 'shared.txt': 'BBBBBBBBB' }, seen: ['shared.txt'] });
    // A's copy gets the original's size and mtime: only the inode tells the difference.
    const original = await fs.stat(path.join(w.codebase, 'shared.txt'));
    await fs.writeFile(path.join(a, 'upper', 'shared.txt'), 'original\n');
    await fs.utimes(path.join(a, 'upper', 'shared.txt'), original.atime, original.mtime);
    await commit(w, a);
    expect((await commit(w, b)).conflicts).toEqual(['/shared.txt']);
  });

  it('both create the same new file: the second reports it (absent when first seen)', async () => {
    const w = await world();
    const a = await sandbox(w, 'a', { write: { 'new/n.txt': 'A' }, seen: ['new', 'new/n.txt'] });
    const b = await sandbox(w, 'b', { write: { 'new/n.txt': 'B' }, seen: ['new', 'new/n.txt'] });
    expect(await commit(w, a)).toMatchObject({ added: ['/new', '/new/n.txt'], conflicts: [] });
    const rb = await commit(w, b);
    // /new is merged, not replaced, by B: only the file conflicts.
    expect(rb).toMatchObject({
      committed: true,
      modified: ['/new/n.txt'],
      conflicts: ['/new/n.txt'],
    });
    expect(await content(w, 'new/n.txt')).toBe('B');
  });

  it('deleting a file another sandbox changed since is a conflict; the delete still wins under lww', async () => {
    const w = await world();
    const a = await sandbox(w, 'a', {
      write: { 'other.txt': 'changed by A\n' },
      seen: ['other.txt'],
    });
    const b = await sandbox(w, 'b', { remove: ['other.txt'], seen: ['other.txt'] });
    await commit(w, a);
    expect(await commit(w, b)).toEqual({
      committed: true,
      added: [],
      modified: [],
      deleted: ['/other.txt'],
      conflicts: ['/other.txt'],
    });
    expect(await content(w, 'other.txt')).toBeNull();
  });

  it('replacing a directory another sandbox added to since is a conflict', async () => {
    const w = await world();
    const a = await sandbox(w, 'a', { write: { 'd/two.txt': '2\n' }, seen: ['d/two.txt'] });
    const b = await sandbox(w, 'b', {
      opaque: ['d'],
      write: { 'd/fresh.txt': 'f\n' },
      seen: ['d', 'd/one.txt'],
    });
    await commit(w, a);
    const rb = await commit(w, b);
    expect(rb.conflicts).toEqual(['/d']);
    expect(rb.deleted).toEqual(['/d/one.txt', '/d/two.txt']);
    expect((await fs.readdir(path.join(w.codebase, 'd'))).sort()).toEqual(['fresh.txt']);
  });

  it('paths a sandbox only read, or that nobody else changed, are no conflict', async () => {
    const w = await world();
    const a = await sandbox(w, 'a', { write: { 'other.txt': 'A\n' }, seen: ['other.txt'] });
    const b = await sandbox(w, 'b', {
      write: { 'shared.txt': 'B\n' },
      seen: ['shared.txt', 'other.txt'],
    });
    await commit(w, a);
    expect((await commit(w, b)).conflicts).toEqual([]);
  });

  it('reject-conflicts refuses the whole commit: codebase untouched, delta kept', async () => {
    const w = await world();
    const a = await sandbox(w, 'a', { write: { 'shared.txt': 'from A\n' }, seen: ['shared.txt'] });
    const b = await sandbox(w, 'b', {
      write: { 'shared.txt': 'from B\n', 'b-only.txt': 'b\n' },
      remove: ['other.txt'],
      seen: ['shared.txt'],
    });
    await commit(w, a);
    const before = await snapshotTree(w.codebase);
    const deltaBefore = await snapshotTree(b);
    const rb = await commit(w, b, { mode: 'reject-conflicts' });
    expect(rb).toEqual({
      committed: false,
      added: [],
      modified: [],
      deleted: [],
      conflicts: ['/shared.txt'],
    });
    expect(await snapshotTree(w.codebase)).toEqual(before);
    expect(await snapshotTree(b)).toEqual(deltaBefore);
    // Without a conflict the same mode commits normally.
    const c = await sandbox(w, 'c', { write: { 'c.txt': 'c\n' }, seen: ['c.txt', 'shared.txt'] });
    expect(await commit(w, c, { mode: 'reject-conflicts' })).toMatchObject({
      committed: true,
      added: ['/c.txt'],
    });
  });
});

describe('concurrent commits on one codebase', () => {
  async function race(
    w: World,
    start: (a: string, b: string) => Promise<CommitResult[]>,
  ): Promise<void> {
    const big = 'x'.repeat(1 << 20);
    const writes = (tag: string): Record<string, string> => {
      const out: Record<string, string> = {
        'shared.txt': `from ${tag}\n`,
        [`${tag}-only.txt`]: tag,
      };
      for (let i = 0; i < 20; i++) out[`${tag}-dir/f${i}.txt`] = `${tag}${i}${big}`;
      return out;
    };
    const a = await sandbox(w, 'a', { write: writes('A'), seen: ['shared.txt'] });
    const b = await sandbox(w, 'b', { write: writes('B'), seen: ['shared.txt'] });
    const [ra, rb] = await start(a, b);
    expect(ra?.committed && rb?.committed).toBe(true);
    // Serialised: exactly one saw the other's write to shared.txt, and that one wrote last.
    const withConflict = [ra, rb].filter((r) => r?.conflicts.includes('/shared.txt'));
    expect(withConflict).toHaveLength(1);
    const last = withConflict[0] === ra ? 'A' : 'B';
    expect(await content(w, 'shared.txt')).toBe(`from ${last}\n`);
    for (const tag of ['A', 'B']) {
      expect(await content(w, `${tag}-only.txt`)).toBe(tag);
      expect((await fs.readdir(path.join(w.codebase, `${tag}-dir`))).length).toBe(20);
    }
    const names = Object.keys(await snapshotTree(w.codebase));
    expect(names.filter((n) => n.includes('.cordon-'))).toEqual([]);
  }

  it('in one process, through the lock file alone', async () => {
    const w = await world();
    await race(w, (a, b) => Promise.all([commit(w, a), commit(w, b)]));
  });

  it('in one process, through a CommitQueue', async () => {
    const w = await world();
    const queue = new CommitQueue();
    await race(w, (a, b) => Promise.all([commit(w, a, { queue }), commit(w, b, { queue })]));
    expect(queue.busyKeys).toEqual([]);
  });

  it('in two processes', async () => {
    const w = await world();
    await race(w, async (a, b) => {
      const outcomes = await Promise.all(
        [a, b].map((deltaDir) =>
          runChild('commit', { codebaseDir: w.codebase, deltaDir, stateDir: w.state }),
        ),
      );
      return outcomes.map((o) => {
        expect(o.code, o.stderr).toBe(0);
        return JSON.parse(o.stdout) as CommitResult;
      });
    });
  });
});
