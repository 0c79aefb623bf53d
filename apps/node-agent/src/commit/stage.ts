// Staging: copies each replacing entry from the delta to its reserved name beside the target (same
// directory, so the later rename is atomic and never crosses a filesystem), with the delta's
// permission bits, timestamps, symlink targets and — when running as root — owner. File content is
// copied by the kernel (reflink where the filesystem can, else copy_file_range/sendfile), never
// buffered in memory. Everything staged is fsynced, and so are the directories holding it.
import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import type { UpperDir, UpperFile, UpperNode, UpperSymlink } from '../delta/scan.ts';
import { CommitError } from './errors.ts';
import type { FaultInjector } from './fault.ts';
import { fsyncDirs, isRoot, mapLimit } from './fsutil.ts';
import { parentRel, toAbs } from './paths.ts';
import type { PlannedOp } from './plan.ts';

/** Entries staged in parallel (each is copied, then fsynced). */
const STAGE_CONCURRENCY = 16;

export async function stageOps(
  codebaseDir: string,
  planned: readonly PlannedOp[],
  faults: FaultInjector,
): Promise<void> {
  const asRoot = isRoot();
  const work = planned.flatMap(({ op, upper }) =>
    op.kind === 'replace' && upper !== null ? [{ staged: op.staged, upper }] : [],
  );
  await mapLimit(work, STAGE_CONCURRENCY, async ({ staged, upper }) => {
    await stageNode(upper, toAbs(codebaseDir, staged), asRoot);
    faults.hit('staging');
  });
  await fsyncDirs(work.map(({ staged }) => toAbs(codebaseDir, parentRel(staged))));
}

async function stageNode(node: UpperNode, dest: string, asRoot: boolean): Promise<void> {
  switch (node.kind) {
    case 'file':
      return stageFile(node, dest, asRoot);
    case 'symlink':
      return stageSymlink(node, dest, asRoot);
    case 'dir':
      return stageDir(node, dest, asRoot);
    case 'other':
      throw new CommitError(
        'UNSUPPORTED_ENTRY',
        `${node.path} in the delta is a fifo, socket or device; remove it from the delta or discard the delta`,
      );
  }
}

async function stageFile(node: UpperFile, dest: string, asRoot: boolean): Promise<void> {
  await fs.copyFile(node.abs, dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
  const handle = await fs.open(dest, 'r');
  try {
    // chown before chmod: changing the owner clears setuid/setgid bits.
    if (asRoot) await handle.chown(node.uid, node.gid);
    await handle.chmod(node.mode);
    await handle.utimes(seconds(node.atimeNs), seconds(node.mtimeNs));
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function stageSymlink(node: UpperSymlink, dest: string, asRoot: boolean): Promise<void> {
  await fs.symlink(node.target, dest);
  if (asRoot) await fs.lchown(dest, node.uid, node.gid);
  await fs.lutimes(dest, seconds(node.atimeNs), seconds(node.mtimeNs));
}

async function stageDir(node: UpperDir, dest: string, asRoot: boolean): Promise<void> {
  await fs.mkdir(dest, { mode: 0o700 });
  for (const child of node.children) await stageNode(child, path.join(dest, child.name), asRoot);
  // Mode and times last: the children's creation would bump the mtime, and a read-only mode
  // would stop a non-root committer from populating it.
  const handle = await fs.open(dest, 'r');
  try {
    if (asRoot) await handle.chown(node.uid, node.gid);
    await handle.chmod(node.mode);
    await handle.utimes(seconds(node.atimeNs), seconds(node.mtimeNs));
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Node's utimes takes seconds as a double: sub-microsecond precision is lost. */
function seconds(ns: bigint): number {
  return Number(ns) / 1e9;
}
