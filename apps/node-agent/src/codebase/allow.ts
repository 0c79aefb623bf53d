// Host-path codebases: a node accepts a directory only under one of its allowed prefixes, compared
// after resolving symlinks, on path-component boundaries (/srv/a allows /srv/a/b, not /srv/ab).
import path from 'node:path';

/** Normalises prefixes: absolute, resolved, no trailing slash (except '/'). Pure. */
export function normalizePrefixes(prefixes: readonly string[]): string[] {
  return [...new Set(prefixes.filter((p) => p.length > 0).map((p) => path.resolve(p)))].sort();
}

/** True when `dir` (already realpath'd) equals or lies below one of `prefixes`. Pure. */
export function isUnderAny(dir: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => isUnder(dir, p));
}

export function isUnder(dir: string, prefix: string): boolean {
  if (prefix === '/') return dir.startsWith('/');
  return dir === prefix || dir.startsWith(prefix + path.sep);
}

/** True when either directory contains the other (or they are the same). Pure. */
export function overlaps(a: string, b: string): boolean {
  return isUnder(a, b) || isUnder(b, a);
}
