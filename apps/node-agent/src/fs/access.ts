// The permission decisions of every operation, in one place. Errors follow the level model:
//   none  → the entry does not exist (ENOENT); creating there fails with EACCES whether or not
//           something exists, so the error reveals nothing;
//   view  → stat and list only; content (open for read, readlink, xattrs) EACCES;
//   read  → any change EACCES (not EROFS: the mount is writable, this path is not);
//   write → everything, through the delta.
import { levelAtLeast, type Level } from '@cordon/policy';
import { denial, type FsContext } from './context.ts';
import { E, Errno } from './errno.ts';
import { hasReservedComponent } from './paths.ts';

export function levelOf(ctx: FsContext, p: string): Level {
  if (hasReservedComponent(p)) return 'none';
  return ctx.policy.decide(p);
}

/** Whether `p` shows up at all: its level is above none, or it is a directory leading to something. */
export function visible(ctx: FsContext, p: string, level: Level, isDir: boolean): boolean {
  if (p === '/') return true;
  if (level !== 'none') return true;
  return isDir && !hasReservedComponent(p) && ctx.policy.canTraverse(p);
}

function deny(
  ctx: FsContext,
  op: string,
  p: string,
  level: Level,
  required: Level,
  errno: number,
): Errno {
  ctx.onDenial(denial(ctx, op, p, level, required));
  return new Errno(errno);
}

/**
 * Requires `required` on an existing entry. A none-level path answers ENOENT (as if absent);
 * `exists` tells whether something is really there, to audit only real probes.
 */
export function requireOn(
  ctx: FsContext,
  op: string,
  p: string,
  required: Level,
  exists: () => boolean,
): Level {
  const level = levelOf(ctx, p);
  if (levelAtLeast(level, required)) return level;
  if (level === 'none') {
    if (exists()) ctx.onDenial(denial(ctx, op, p, level, required));
    throw new Errno(E.ENOENT);
  }
  throw deny(ctx, op, p, level, required, E.EACCES);
}

/** Requires write on a path about to be created (or replaced): EACCES whatever exists there. */
export function requireCreate(ctx: FsContext, op: string, p: string): void {
  const level = levelOf(ctx, p);
  if (level === 'write') return;
  throw deny(ctx, op, p, level, 'write', E.EACCES);
}

/** Audits and throws for a rule that is not about one path's level (e.g. hidden entries inside). */
export function refuse(
  ctx: FsContext,
  op: string,
  p: string,
  required: Level,
  errno: number,
): Errno {
  return deny(ctx, op, p, levelOf(ctx, p), required, errno);
}
