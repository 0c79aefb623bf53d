// kill -9 at every named point of the commit protocol (in a child process), then recovery: the
// codebase must equal exactly the state before the commit or exactly the state after it — every
// entry's type, content, mode, symlink target and file mtime, and nothing extra (no staged or
// trash leftovers). Before the commit point the delta must be intact and committable; after it,
// cleared.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitDelta, FAULT_POINTS, recoverAll, recoverCodebase } from '../../src/commit/index.ts';
import {
  buildFixture,
  EXPECTED,
  runChild,
  snapshotTree,
  type Fixture,
  type TreeSnapshot,
} from './support.ts';

const fixtures: Fixture[] = [];
let before: TreeSnapshot;
let after: TreeSnapshot;
let deltaBefore: TreeSnapshot;

async function fresh(): Promise<Fixture> {
  const f = await buildFixture();
  fixtures.push(f);
  return f;
}

function optionsOf(f: Fixture): { codebaseDir: string; deltaDir: string; stateDir: string } {
  return { codebaseDir: f.codebase, deltaDir: f.delta, stateDir: f.state };
}

async function expectDeltaCleared(f: Fixture): Promise<void> {
  expect(await snapshotTree(path.join(f.delta, 'upper'))).toEqual({});
  expect(await fs.readdir(path.join(f.delta, 'work'))).toEqual([]);
  expect(await fs.readFile(path.join(f.delta, 'seen.ndjson'), 'utf8')).toBe('');
}

async function expectNoJournalNorLock(f: Fixture): Promise<void> {
  const codebases = path.join(f.state, 'codebases');
  for (const key of await fs.readdir(codebases)) {
    expect(await fs.readdir(path.join(codebases, key))).toEqual([]);
  }
}

beforeAll(async () => {
  const reference = await fresh();
  before = await snapshotTree(reference.codebase);
  deltaBefore = await snapshotTree(reference.delta);
  const result = await commitDelta(optionsOf(reference));
  expect(result).toEqual({ committed: true, ...EXPECTED });
  after = await snapshotTree(reference.codebase);
  expect(after).not.toEqual(before);
});

afterAll(async () => {
  await Promise.all(fixtures.map((f) => fs.rm(f.base, { recursive: true, force: true })));
});

// Every point, plus later hits of the per-entry points (the fixture has 17 replace, 3 delete and
// 1 chmod operations, 3 of the replaces move an existing target aside).
const CASES: { spec: string; outcome: 'before' | 'after' }[] = [
  { spec: 'locked', outcome: 'before' },
  { spec: 'prepared', outcome: 'before' },
  { spec: 'staging', outcome: 'before' },
  { spec: 'staging:12', outcome: 'before' },
  { spec: 'staged', outcome: 'before' },
  { spec: 'committed', outcome: 'after' },
  { spec: 'trashed', outcome: 'after' },
  { spec: 'trashed:3', outcome: 'after' },
  { spec: 'applying', outcome: 'after' },
  { spec: 'applying:13', outcome: 'after' },
  { spec: 'applying:21', outcome: 'after' },
  { spec: 'applied', outcome: 'after' },
  { spec: 'cleaned', outcome: 'after' },
  { spec: 'delta-cleared', outcome: 'after' },
  { spec: 'journal-removed', outcome: 'after' },
];

describe('kill -9 during a commit, then recovery', () => {
  it('covers every named crash point', () => {
    const covered = new Set(CASES.map((c) => c.spec.split(':')[0]));
    expect([...covered].sort()).toEqual([...FAULT_POINTS].sort());
  });

  it.each(CASES)('crash at $spec → codebase entirely $outcome', async ({ spec, outcome }) => {
    const f = await fresh();
    const child = await runChild('commit', optionsOf(f), spec);
    expect(child.signal, child.stderr).toBe('SIGKILL');

    const recovery = await recoverCodebase({ codebaseDir: f.codebase, stateDir: f.state });
    const expectedAction =
      spec === 'locked' || spec === 'journal-removed'
        ? 'none'
        : outcome === 'before'
          ? 'rolled-back'
          : 'rolled-forward';
    expect(recovery.action).toBe(expectedAction);
    expect(await snapshotTree(f.codebase)).toEqual(outcome === 'before' ? before : after);
    await expectNoJournalNorLock(f);

    if (outcome === 'before') {
      // The delta is intact and still commits to exactly the after state.
      expect(await snapshotTree(f.delta)).toEqual(deltaBefore);
      const result = await commitDelta(optionsOf(f));
      expect(result).toEqual({ committed: true, ...EXPECTED });
      expect(await snapshotTree(f.codebase)).toEqual(after);
    }
    await expectDeltaCleared(f);
  });

  it('a crash during recovery is recovered by running recovery again', async () => {
    const f = await fresh();
    expect((await runChild('commit', optionsOf(f), 'applying:5')).signal).toBe('SIGKILL');
    // Recovery re-walks all 21 operations; kill it after re-doing part of the remaining ones.
    expect((await runChild('recover', optionsOf(f), 'applying:14')).signal).toBe('SIGKILL');
    expect((await runChild('recover', optionsOf(f), 'cleaned')).signal).toBe('SIGKILL');
    const recovery = await recoverCodebase({ codebaseDir: f.codebase, stateDir: f.state });
    expect(recovery.action).toBe('rolled-forward');
    expect(await snapshotTree(f.codebase)).toEqual(after);
    await expectDeltaCleared(f);
    await expectNoJournalNorLock(f);
  });

  it('the next commit recovers an interrupted one by itself, and recoverAll finds journals', async () => {
    const f = await fresh();
    expect((await runChild('commit', optionsOf(f), 'trashed:2')).signal).toBe('SIGKILL');
    // Another sandbox's (empty) commit on the same codebase first finishes the interrupted one.
    const other = path.join(f.base, 'other-delta');
    await fs.mkdir(path.join(other, 'upper'), { recursive: true });
    const result = await commitDelta({ ...optionsOf(f), deltaDir: other });
    expect(result.committed).toBe(true);
    expect(await snapshotTree(f.codebase)).toEqual(after);
    await expectDeltaCleared(f);
    expect(await recoverAll({ stateDir: f.state })).toEqual([]);

    const g = await fresh();
    expect((await runChild('commit', optionsOf(g), 'staged')).signal).toBe('SIGKILL');
    const results = await recoverAll({ stateDir: g.state });
    expect(results).toHaveLength(1);
    expect(results[0]?.codebaseDir).toBe(await fs.realpath(g.codebase));
    expect(results[0]?.action).toBe('rolled-back');
    expect(results[0]?.commitId).toMatch(/^[0-9a-f]{16}$/);
    expect(await snapshotTree(g.codebase)).toEqual(before);
  });
});
