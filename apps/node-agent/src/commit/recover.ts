// Recovery after a crash (run at node agent start, and by every commit before its own work): a
// 'prepared' journal is rolled back (the staged entries are removed; the codebase never changed),
// a 'committed' one is rolled forward (the remaining renames, trash removal, clearing the delta).
// Recovery is idempotent and may itself be interrupted and re-run.
import fs from 'node:fs/promises';
import path from 'node:path';
import { clearDelta } from '../delta/clear.ts';
import { isNotFound } from '../delta/fingerprint.ts';
import { applyOps, removeTrash, rollBack } from './apply.ts';
import { CommitError } from './errors.ts';
import { createFaultInjector, type FaultInjector } from './fault.ts';
import {
  codebaseState,
  parseJournal,
  readJournal,
  removeJournal,
  type CodebaseState,
  type Journal,
} from './journal.ts';
import { acquireLock } from './lock.ts';

export type RecoveryAction = 'none' | 'rolled-back' | 'rolled-forward';

export interface RecoveryResult {
  readonly codebaseDir: string;
  readonly action: RecoveryAction;
  /** The interrupted commit's id; null when there was none. */
  readonly commitId: string | null;
}

export interface RecoverOptions {
  readonly codebaseDir: string;
  readonly stateDir: string;
  /** Wait at most this long for a running commit's lock. Default 120 000. */
  readonly lockTimeoutMs?: number;
  /** Crash injection for tests (see fault.ts). Default: $CORDON_COMMIT_CRASH_AT. */
  readonly crashAt?: string;
}

export async function recoverCodebase(options: RecoverOptions): Promise<RecoveryResult> {
  const codebaseDir = await realCodebase(options.codebaseDir);
  const state = codebaseState(path.resolve(options.stateDir), codebaseDir);
  await fs.mkdir(state.dir, { recursive: true, mode: 0o700 });
  const lock = await acquireLock(state.lock, { timeoutMs: options.lockTimeoutMs });
  try {
    return await recoverLocked(codebaseDir, state, createFaultInjector(options.crashAt));
  } finally {
    await lock.release();
  }
}

/** Recovers every codebase with a journal under `stateDir` (at node agent start). */
export async function recoverAll(options: {
  readonly stateDir: string;
  readonly lockTimeoutMs?: number;
}): Promise<RecoveryResult[]> {
  const root = path.join(path.resolve(options.stateDir), 'codebases');
  let keys: string[];
  try {
    keys = await fs.readdir(root);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
  const results: RecoveryResult[] = [];
  for (const key of keys.sort()) {
    let text: string;
    try {
      text = await fs.readFile(path.join(root, key, 'journal.json'), 'utf8');
    } catch (err) {
      if (isNotFound(err)) continue;
      throw err;
    }
    const { codebaseDir } = parseJournal(text); // JOURNAL_CORRUPT if damaged
    results.push(
      await recoverCodebase({
        codebaseDir,
        stateDir: options.stateDir,
        lockTimeoutMs: options.lockTimeoutMs,
      }),
    );
  }
  return results;
}

/** Recovery proper; the caller holds the codebase's commit lock. */
export async function recoverLocked(
  codebaseDir: string,
  state: CodebaseState,
  faults: FaultInjector,
): Promise<RecoveryResult> {
  const journal = await readJournal(state);
  if (journal === null) {
    await fs.rm(`${state.journal}.tmp`, { force: true });
    return { codebaseDir, action: 'none', commitId: null };
  }
  if (journal.codebaseDir !== codebaseDir) {
    throw new CommitError(
      'JOURNAL_CORRUPT',
      `${state.journal} belongs to ${journal.codebaseDir}, not ${codebaseDir}; inspect it by hand`,
    );
  }
  switch (journal.state) {
    case 'prepared':
      await rollBack(codebaseDir, journal.ops);
      await removeJournal(state);
      return { codebaseDir, action: 'rolled-back', commitId: journal.id };
    case 'committed':
      await finishCommitted(codebaseDir, state, journal, faults);
      return { codebaseDir, action: 'rolled-forward', commitId: journal.id };
  }
}

/** Everything after the commit point, for a commit and for roll-forward alike. */
export async function finishCommitted(
  codebaseDir: string,
  state: CodebaseState,
  journal: Journal,
  faults: FaultInjector,
): Promise<void> {
  await applyOps(codebaseDir, journal.ops, faults);
  faults.hit('applied');
  await removeTrash(codebaseDir, journal.ops);
  faults.hit('cleaned');
  await clearDelta(journal.deltaDir);
  faults.hit('delta-cleared');
  await removeJournal(state);
}

export async function realCodebase(codebaseDir: string): Promise<string> {
  try {
    const real = await fs.realpath(codebaseDir);
    if ((await fs.stat(real)).isDirectory()) return real;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  throw new CommitError(
    'CODEBASE_INVALID',
    `${codebaseDir} is not a directory; pass the codebase's root directory`,
  );
}
