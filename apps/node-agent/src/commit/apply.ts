// Applying a committed journal, and undoing a prepared one. Every step is idempotent, so a crash
// anywhere (also during recovery itself) is handled by running the same code again:
//   replace — staged entry gone: already applied. Else move an existing target aside to its
//             trash name when the journal asks for it, then rename the staged entry into place
//             (a file over a file is replaced by that one rename, atomically);
//   delete  — rename the target to its trash name if it is still there;
//   chmod   — set the mode again.
// Paths are renamed, never followed: the journal holds canonical codebase-relative paths only.
import fs from 'node:fs/promises';
import type { FaultInjector } from './fault.ts';
import { exists, fsyncDirs, lstatOrNull, removeTree } from './fsutil.ts';
import type { JournalOp } from './journal.ts';
import { parentRel, toAbs } from './paths.ts';

export async function applyOps(
  codebaseDir: string,
  ops: readonly JournalOp[],
  faults: FaultInjector,
): Promise<void> {
  for (const op of ops) {
    await applyOp(codebaseDir, op, faults);
    faults.hit('applying');
  }
  const touched = ops.map((op) =>
    toAbs(codebaseDir, op.kind === 'chmod' ? op.target : parentRel(op.target)),
  );
  await fsyncDirs(touched);
}

async function applyOp(root: string, op: JournalOp, faults: FaultInjector): Promise<void> {
  const target = toAbs(root, op.target);
  switch (op.kind) {
    case 'replace': {
      const staged = toAbs(root, op.staged);
      if (!(await exists(staged))) return;
      if (op.trash !== null && (await exists(target))) {
        await fs.rename(target, toAbs(root, op.trash));
        faults.hit('trashed');
      }
      await fs.rename(staged, target);
      return;
    }
    case 'delete':
      if (await exists(target)) await fs.rename(target, toAbs(root, op.trash));
      return;
    case 'chmod':
      // Never follow a symlink out of the codebase: only a directory still in place is changed.
      if ((await lstatOrNull(target))?.isDirectory() === true) await fs.chmod(target, op.mode);
      return;
  }
}

/** Removes what the commit replaced or deleted (moved aside under trash names). */
export async function removeTrash(codebaseDir: string, ops: readonly JournalOp[]): Promise<void> {
  const parents: string[] = [];
  for (const op of ops) {
    const trash = op.kind === 'replace' ? op.trash : op.kind === 'delete' ? op.trash : null;
    if (trash === null) continue;
    await removeTree(toAbs(codebaseDir, trash));
    parents.push(toAbs(codebaseDir, parentRel(trash)));
  }
  await fsyncDirs(parents);
}

/** Undoes a commit that never reached its commit point: removes whatever was staged. */
export async function rollBack(codebaseDir: string, ops: readonly JournalOp[]): Promise<void> {
  const parents: string[] = [];
  for (const op of ops) {
    if (op.kind !== 'replace') continue;
    await removeTree(toAbs(codebaseDir, op.staged));
    parents.push(toAbs(codebaseDir, parentRel(op.staged)));
  }
  await fsyncDirs(parents);
}
