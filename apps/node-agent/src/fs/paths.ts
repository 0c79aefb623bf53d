// Pure helpers on mount-relative paths ('/', '/a', '/a/b'), the form FUSE hands us and the policy
// decides on.
import { isReservedName } from '../delta/layout.ts';

export function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

export function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** '/a/b/c' → ['/a', '/a/b'] (strict ancestors below the root, outermost first). */
export function ancestorsOf(p: string): string[] {
  const out: string[] = [];
  let i = p.indexOf('/', 1);
  while (i !== -1) {
    out.push(p.slice(0, i));
    i = p.indexOf('/', i + 1);
  }
  return out;
}

/** True if `p` is `dir` or lies below it. */
export function isWithin(p: string, dir: string): boolean {
  if (dir === '/') return true;
  return p === dir || p.startsWith(dir + '/');
}

/** True when any component uses the delta's reserved prefix: such entries never exist inside. */
export function hasReservedComponent(p: string): boolean {
  if (!p.includes('/.cordon-')) return false;
  return p.split('/').some((seg) => seg !== '' && isReservedName(seg));
}

function segments(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

/**
 * Rewrites a symlink's stored target so that the kernel, following it from the link's directory,
 * stays inside the mount: absolute targets are taken relative to the mount root, and `..` never
 * climbs above it (as in a chroot). The result is relative, with at most as many `..` as the link's
 * directory is deep. Lexical: good enough to confine, since every link on the way is confined too.
 */
export function confineLinkTarget(linkPath: string, target: string): string {
  const dir = segments(parentOf(linkPath));
  const resolved = target.startsWith('/') ? [] : [...dir];
  for (const seg of target.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') resolved.pop();
    else resolved.push(seg);
  }
  let common = 0;
  while (common < dir.length && common < resolved.length && dir[common] === resolved[common]) {
    common++;
  }
  const rel = [...dir.slice(common).map(() => '..'), ...resolved.slice(common)];
  const out = rel.length === 0 ? '.' : rel.join('/');
  return target.endsWith('/') && out !== '.' ? out + '/' : out;
}
