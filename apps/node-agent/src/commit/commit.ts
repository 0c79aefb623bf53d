// commitDelta: applies a sandbox's delta to the shared codebase, atomically with respect to
// crashes, under the codebase's commit lock. Protocol (docs/commit.md has the full story):
//   lock → recover a previous crash → scan the delta → plan against the source → conflicts →
//   journal 'prepared' → stage beside the targets + fsync → journal 'committed' (the commit point)
//   → renames and whiteouts → fsync → remove trash → clear the delta → remove the journal → unlock.
// The delta must be quiescent (no exec running in the sandbox) while it is committed.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { clearDelta } from '../delta/clear.ts';
import { readSeen, scanDelta } from '../delta/scan.ts';
import { rollBack } from './apply.ts';
import { findConflicts } from './conflicts.ts';
import { CommitError } from './errors.ts';
import { createFaultInjector, type FaultInjector } from './fault.ts';
import {
  codebaseState,
  removeJournal,
  writeJournal,
  type CodebaseState,
  type Journal,
} from './journal.ts';
import { acquireLock } from './lock.ts';
import { sortedUnique } from './paths.ts';
import { planCommit, type PlannedOp } from './plan.ts';
import { DEFAULT_COMMIT_MODE, type CommitMode } from './policy.ts';
import type { CommitQueue } from './queue.ts';
import { finishCommitted, realCodebase, recoverLocked } from './recover.ts';
import { stageOps } from './stage.ts';

export interface CommitOptions {
  readonly codebaseDir: string;
  readonly deltaDir: string;
  /** The node agent's state directory (journals, locks); every committer of a codebase must share it. */
  readonly stateDir: string;
  /** 'lww' (default) commits and reports conflicts; 'reject-conflicts' refuses the whole commit. */
  readonly mode?: CommitMode;
  /** Serialises commits of one process per codebase without polling the lock file. */
  readonly queue?: CommitQueue;
  /** Wait at most this long for another commit's lock (LOCK_TIMEOUT). Default 120 000. */
  readonly lockTimeoutMs?: number;
  /** Crash injection for tests (see fault.ts). Default: $CORDON_COMMIT_CRASH_AT. */
  readonly crashAt?: string;
}

export interface CommitResult {
  /** False only when 'reject-conflicts' refused the commit (the codebase and delta are untouched). */
  readonly committed: boolean;
  /** Codebase-relative paths with a leading '/', sorted. Empty when not committed. */
  readonly added: readonly string[];
  readonly modified: readonly string[];
  readonly deleted: readonly string[];
  /** Paths overwritten or deleted although they changed in the source after this sandbox first saw them. */
  readonly conflicts: readonly string[];
}

export async function commitDelta(options: CommitOptions): Promise<CommitResult> {
  const codebaseDir = await realCodebase(options.codebaseDir);
  const run = (): Promise<CommitResult> => commitLocked(codebaseDir, options);
  return options.queue === undefined ? run() : options.queue.run(codebaseDir, run);
}

async function commitLocked(codebaseDir: string, options: CommitOptions): Promise<CommitResult> {
  const faults = createFaultInjector(options.crashAt);
  const state = codebaseState(path.resolve(options.stateDir), codebaseDir);
  await fs.mkdir(state.dir, { recursive: true, mode: 0o700 });
  const lock = await acquireLock(state.lock, { timeoutMs: options.lockTimeoutMs });
  try {
    faults.hit('locked');
    await recoverLocked(codebaseDir, state, faults);
    const deltaDir = path.resolve(options.deltaDir);
    const id = randomBytes(8).toString('hex');
    const [upper, seen] = await Promise.all([scanDelta(deltaDir), readSeen(deltaDir)]);
    const plan = await planCommit(codebaseDir, upper, id);
    const ops = applyOrder(plan.ops);
    const conflicts = await findConflicts(
      codebaseDir,
      ops.map((p) => p.op),
      seen,
    );
    if (conflicts.length > 0 && (options.mode ?? DEFAULT_COMMIT_MODE) === 'reject-conflicts') {
      return { committed: false, added: [], modified: [], deleted: [], conflicts };
    }
    const result: CommitResult = {
      committed: true,
      added: sortedUnique(plan.added),
      modified: sortedUnique(plan.modified),
      deleted: sortedUnique(plan.deleted),
      conflicts,
    };
    if (ops.length === 0) {
      await clearDelta(deltaDir);
      return result;
    }
    const prepared: Journal = {
      version: 1,
      id,
      state: 'prepared',
      codebaseDir,
      deltaDir,
      ops: ops.map((p) => p.op),
    };
    await stageAll(codebaseDir, state, prepared, ops, faults);
    await lock.assertHeld();
    const committed: Journal = { ...prepared, state: 'committed' };
    await writeJournal(state, committed);
    faults.hit('committed');
    try {
      await finishCommitted(codebaseDir, state, committed, faults);
    } catch (err) {
      throw new CommitError(
        'RECOVERY_REQUIRED',
        `commit ${id} is past its commit point but could not be applied (${String(err)}); fix the cause and run recoverCodebase`,
        { cause: err },
      );
    }
    faults.hit('journal-removed');
    return result;
  } finally {
    await lock.release();
  }
}

/** Writes the intent record, then stages; on a staging error undoes it and rethrows. */
async function stageAll(
  codebaseDir: string,
  state: CodebaseState,
  prepared: Journal,
  ops: readonly PlannedOp[],
  faults: FaultInjector,
): Promise<void> {
  await writeJournal(state, prepared);
  faults.hit('prepared');
  try {
    await stageOps(codebaseDir, ops, faults);
  } catch (err) {
    await rollBack(codebaseDir, prepared.ops);
    await removeJournal(state);
    throw err;
  }
  faults.hit('staged');
}

/** Content first, directory modes last (a read-only mode must not block renames below it). */
function applyOrder(ops: readonly PlannedOp[]): PlannedOp[] {
  return [...ops.filter((p) => p.op.kind !== 'chmod'), ...ops.filter((p) => p.op.kind === 'chmod')];
}
