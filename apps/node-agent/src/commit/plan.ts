// Turns a scanned delta into the commit's operations, against the codebase as it is now (under the
// commit lock). Directories present on both sides are merged; everything else is replaced whole:
//   - an upper file or symlink replaces whatever the source has at that path;
//   - an upper directory that is opaque, whited-out as well (deleted then re-created), new, or
//     where the source has a non-directory, is staged as a complete tree and swapped in by one rename;
//   - a whiteout deletes the source entry (a directory with everything below it);
//   - an opaque root (the codebase root itself cannot be swapped) deletes every source entry the
//     upper root does not have and replaces, not merges, its subdirectories.
// Also lists what changes, per path: added, modified (rewritten, or type or mode changed), deleted.
import fs from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import type { UpperDir, UpperNode } from '../delta/scan.ts';
import { isReservedName } from '../delta/layout.ts';
import { CommitError } from './errors.ts';
import { lstatOrNull } from './fsutil.ts';
import type { JournalOp } from './journal.ts';
import { childRel, reservedSibling, STAGE_PREFIX, toAbs, TRASH_PREFIX } from './paths.ts';

export interface PlannedOp {
  readonly op: JournalOp;
  /** The delta entry staged for a 'replace'; null for 'delete' and 'chmod'. */
  readonly upper: UpperNode | null;
}

export interface Plan {
  readonly ops: readonly PlannedOp[];
  readonly added: readonly string[];
  readonly modified: readonly string[];
  readonly deleted: readonly string[];
}

type EntryKind = 'dir' | 'file' | 'symlink' | 'other';

interface EntryInfo {
  readonly kind: EntryKind;
  readonly mode: number;
}

export async function planCommit(
  codebaseDir: string,
  upperRoot: UpperDir | null,
  commitId: string,
): Promise<Plan> {
  const planner = new Planner(codebaseDir, commitId);
  if (upperRoot !== null) await planner.mergeDir(upperRoot, upperRoot.opaque);
  return {
    ops: planner.ops,
    added: planner.added,
    modified: planner.modified,
    deleted: planner.deleted,
  };
}

class Planner {
  readonly ops: PlannedOp[] = [];
  readonly added: string[] = [];
  readonly modified: string[] = [];
  readonly deleted: string[] = [];
  readonly #root: string;
  readonly #id: string;
  #counter = 0;

  constructor(root: string, id: string) {
    this.#root = root;
    this.#id = id;
  }

  /** `upper` is a directory in the delta whose path is a real directory in the source. */
  async mergeDir(upper: UpperDir, replaceChildDirs: boolean): Promise<void> {
    const whiteouts = new Set(upper.whiteouts);
    const sources = await Promise.all(
      upper.children.map((child) => lstatOrNull(toAbs(this.#root, child.path))),
    );
    for (const [i, child] of upper.children.entries()) {
      const src = sources[i] ?? null;
      if (child.kind === 'dir') {
        const recreated = replaceChildDirs || child.opaque || whiteouts.has(child.name);
        if (!recreated && src?.isDirectory() === true) {
          if (modeOf(src) !== child.mode) {
            this.ops.push({
              op: { kind: 'chmod', target: child.path, mode: child.mode },
              upper: null,
            });
            this.modified.push(child.path);
          }
          await this.mergeDir(child, false);
          continue;
        }
      }
      await this.replace(child, src);
    }
    const present = new Set(upper.children.map((c) => c.name));
    const gone = replaceChildDirs
      ? (await fs.readdir(toAbs(this.#root, upper.path))).filter((n) => !isReservedName(n))
      : upper.whiteouts;
    for (const name of gone) {
      if (present.has(name)) continue;
      const rel = childRel(upper.path, name);
      const src = await lstatOrNull(toAbs(this.#root, rel));
      if (src === null) continue;
      this.ops.push({
        op: { kind: 'delete', target: rel, trash: this.#sibling(rel, TRASH_PREFIX) },
        upper: null,
      });
      for (const p of (await this.#sourceTree(rel, src)).keys()) this.deleted.push(p);
    }
  }

  async replace(node: UpperNode, src: BigIntStats | null): Promise<void> {
    const after = upperTree(node); // throws UNSUPPORTED_ENTRY for fifos, sockets, devices
    const moveAside = src !== null && (src.isDirectory() || node.kind === 'dir');
    const op: JournalOp = {
      kind: 'replace',
      target: node.path,
      staged: this.#sibling(node.path, STAGE_PREFIX),
      trash: moveAside ? this.#sibling(node.path, TRASH_PREFIX) : null,
    };
    this.ops.push({ op, upper: node });
    const before =
      src === null ? new Map<string, EntryInfo>() : await this.#sourceTree(node.path, src);
    for (const [p, a] of after) {
      const b = before.get(p);
      if (b === undefined) this.added.push(p);
      else if (a.kind !== 'dir' || b.kind !== 'dir' || a.mode !== b.mode) this.modified.push(p);
    }
    for (const p of before.keys()) if (!after.has(p)) this.deleted.push(p);
  }

  #sibling(target: string, prefix: string): string {
    return reservedSibling(target, prefix, this.#id, this.#counter++);
  }

  /** `rel` and, for a directory, everything below it; symlinks are not followed. */
  async #sourceTree(rel: string, stat: BigIntStats): Promise<Map<string, EntryInfo>> {
    const out = new Map<string, EntryInfo>();
    const walk = async (p: string, st: BigIntStats): Promise<void> => {
      out.set(p, { kind: kindOf(st), mode: modeOf(st) });
      if (!st.isDirectory()) return;
      const names = await fs.readdir(toAbs(this.#root, p));
      for (const name of names) {
        if (isReservedName(name)) continue;
        const child = childRel(p, name);
        const childStat = await lstatOrNull(toAbs(this.#root, child));
        if (childStat !== null) await walk(child, childStat);
      }
    };
    await walk(rel, stat);
    return out;
  }
}

function upperTree(node: UpperNode): Map<string, EntryInfo> {
  const out = new Map<string, EntryInfo>();
  const walk = (n: UpperNode): void => {
    if (n.kind === 'other') {
      throw new CommitError(
        'UNSUPPORTED_ENTRY',
        `${n.path} in the delta is a fifo, socket or device; remove it from the delta or discard the delta`,
      );
    }
    out.set(n.path, { kind: n.kind, mode: n.mode });
    if (n.kind === 'dir') n.children.forEach(walk);
  };
  walk(node);
  return out;
}

function kindOf(st: BigIntStats): EntryKind {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

function modeOf(st: BigIntStats): number {
  return Number(st.mode) & 0o7777;
}
