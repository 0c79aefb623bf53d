// Conflict detection: a path this commit overwrites or deletes (an op target, or anything below a
// replaced or deleted directory) whose source entry changed after the sandbox first saw it —
// another commit (or an outside writer) got there in between. Paths the sandbox never looked at in
// the source have no first-seen record and cannot conflict.
import { currentFingerprint, sameFingerprint } from '../delta/fingerprint.ts';
import type { Fingerprint } from '../delta/layout.ts';
import type { JournalOp } from './journal.ts';
import { isCanonicalRel, selfAndAncestors, sortedUnique, toAbs } from './paths.ts';

/** The seen paths the ops touch (pure). chmod of a merged directory touches no content. */
export function conflictCandidates(
  seenPaths: Iterable<string>,
  ops: readonly JournalOp[],
): string[] {
  const scopes = new Set(ops.filter((op) => op.kind !== 'chmod').map((op) => op.target));
  const out: string[] = [];
  for (const p of seenPaths) {
    if (!isCanonicalRel(p) || p === '/') continue;
    for (const scope of selfAndAncestors(p)) {
      if (scopes.has(scope)) {
        out.push(p);
        break;
      }
    }
  }
  return out;
}

export async function findConflicts(
  codebaseDir: string,
  ops: readonly JournalOp[],
  seen: ReadonlyMap<string, Fingerprint | null>,
): Promise<string[]> {
  const candidates = conflictCandidates(seen.keys(), ops);
  const changed = await Promise.all(
    candidates.map(async (p) => {
      const now = await currentFingerprint(toAbs(codebaseDir, p));
      return sameFingerprint(seen.get(p) ?? null, now) ? null : p;
    }),
  );
  return sortedUnique(changed.filter((p): p is string => p !== null));
}
