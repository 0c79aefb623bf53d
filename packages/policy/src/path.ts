import { PolicyError } from './errors.ts';

/**
 * Normalises a codebase-relative path to the one form every rule is matched against: a leading
 * `/`, no `.` segments, no empty segments, no trailing `/` (except the root itself).
 * `..` is rejected, never resolved: resolving it is the filesystem's job, and a path that needs it
 * is either an escape attempt or a caller bug. NUL bytes are rejected for the same reason.
 */
export function normalizePath(input: string): string {
  if (isNormalPath(input)) return input;
  if (input.includes('\0')) throw invalidPath(input, 'contains a NUL byte');
  const out: string[] = [];
  for (const segment of input.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..')
      throw invalidPath(input, "contains '..'; give a path inside the codebase");
    out.push(segment);
  }
  return '/' + out.join('/');
}

/** Cheap check for the common case: the path is already normal, so the hot path skips splitting. */
export function isNormalPath(p: string): boolean {
  if (p === '/') return true;
  if (p.length === 0 || p.charCodeAt(0) !== 47 || p.charCodeAt(p.length - 1) === 47) return false;
  return !(
    p.includes('//') ||
    p.includes('/./') ||
    p.includes('/../') ||
    p.endsWith('/.') ||
    p.endsWith('/..') ||
    p.includes('\0')
  );
}

/** `/a/b/c` → [`/`, `/a`, `/a/b`] (strict ancestors, root first). */
export function ancestors(p: string): string[] {
  const result = ['/'];
  if (p === '/') return [];
  let i = p.indexOf('/', 1);
  while (i !== -1) {
    result.push(p.slice(0, i));
    i = p.indexOf('/', i + 1);
  }
  return result;
}

function invalidPath(input: string, why: string): PolicyError {
  return new PolicyError('INVALID_PATH', [
    { field: 'path', message: `path ${JSON.stringify(input.slice(0, 200))} ${why}` },
  ]);
}
