// Codebase-relative paths ('/', '/a/b') and the reserved names the commit stages and trashes under.
// Pure.
import path from 'node:path';

export const STAGE_PREFIX = '.cordon-stage.';
export const TRASH_PREFIX = '.cordon-trash.';

/** The parent of a codebase-relative path; '/' for top-level entries. */
export function parentRel(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i <= 0 ? '/' : rel.slice(0, i);
}

/** '/a' + 'b' → '/a/b'; '/' + 'b' → '/b'. */
export function childRel(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** The absolute path of `rel` below `root`. */
export function toAbs(root: string, rel: string): string {
  return rel === '/' ? root : path.join(root, rel);
}

/**
 * A normalised codebase-relative path: a leading '/', no empty, '.' or '..' segments, no trailing
 * slash, no NUL. The journal holds only such paths, so recovery can never reach outside the codebase.
 */
export function isCanonicalRel(rel: string): boolean {
  if (rel === '/') return true;
  if (!rel.startsWith('/') || rel.endsWith('/') || rel.includes('\0')) return false;
  return rel
    .slice(1)
    .split('/')
    .every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/** `rel` itself and its ancestors up to (not including) '/', nearest first. */
export function* selfAndAncestors(rel: string): Generator<string> {
  let current = rel;
  while (current !== '/') {
    yield current;
    current = parentRel(current);
  }
}

/** The reserved sibling name for entry `n` of commit `id` (unique per commit, short, ASCII). */
export function reservedSibling(target: string, prefix: string, id: string, n: number): string {
  return childRel(parentRel(target), `${prefix}${id}.${n}`);
}

/** Sorted copy without duplicates (UTF-16 code unit order, as Array.prototype.sort). */
export function sortedUnique(paths: Iterable<string>): string[] {
  return [...new Set(paths)].sort();
}
