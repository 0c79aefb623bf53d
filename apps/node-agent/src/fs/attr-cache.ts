// The native side of getattr and of open-for-read (patched fuse-native, option `cordon_attr_cache`):
// JavaScript pushes a path's resolution — its backing file and its level — after deciding it, and
// the FUSE threads then answer getattr with an lstat of that file, and open for reading with an
// open of it, without a round trip to the JavaScript thread. Attributes stay as fresh as the
// kernel's own cache allows (the file is stat'ed on every request); only the decision is cached.
// The decision depends on the policy (fixed per mount) and on the delta, so an operation that may
// change the delta first forgets every path it can re-resolve (forgetFor), and anything that
// changes the delta wholesale (commit, reset) forgets everything.
import type { Level } from '@cordon/policy';

const LEVEL_BITS: Record<Level, number> = { none: 0, view: 1, read: 2, write: 3 };
/** Shown whatever its type; without it, only a directory is shown (a traversable none path). */
const VISIBLE = 4;
/** May be opened for reading natively: level read or write, nothing to record before a read. */
export const OPEN_OK = 8;

/**
 * The flags the native cache stores for a path, or null when the path must not be cached: a none
 * path that is not traversable is denied (and audited) in JavaScript on every request.
 * `openable`: nothing needs recording before the path is read (it is in the delta, or its first
 * read was already logged); only then, and with level read or write, may it be opened natively.
 */
export function cacheFlags(
  p: string,
  level: Level,
  traversable: boolean,
  openable: boolean,
): number | null {
  if (p !== '/' && level === 'none') return traversable ? LEVEL_BITS.none : null;
  const open = openable && (level === 'read' || level === 'write') ? OPEN_OK : 0;
  return LEVEL_BITS[level] | VISIBLE | open;
}

/** What an operation may re-resolve: paths (with their ancestors), or whole subtrees, or all. */
export type Invalidation =
  | { readonly kind: 'none' }
  | { readonly kind: 'all' }
  | { readonly kind: 'paths'; readonly paths: readonly string[]; readonly subtree: boolean };

const KEEP: Invalidation = { kind: 'none' };
const ALL: Invalidation = { kind: 'all' };
const O_ACCMODE = 3;
const O_TRUNC = 0o1000;

/**
 * The paths a FUSE operation can make resolve differently, from its name and arguments (as
 * fuse-native passes them). A copy-up, create or whiteout changes the path and moves its
 * ancestors into the delta; a rename or rmdir can change everything below. Unknown operations
 * forget everything (fail safe).
 */
export function invalidationFor(op: string, args: readonly unknown[]): Invalidation {
  const path = (i: number): string => String(args[i]);
  switch (op) {
    // No change to what any path resolves to: write and ftruncate change a file's size and
    // times, but the cache holds no attributes, only the decision.
    case 'getattr':
    case 'readdir':
    case 'readlink':
    case 'access':
    case 'statfs':
    case 'getxattr':
    case 'listxattr':
    case 'setxattr':
    case 'removexattr':
    case 'read':
    case 'write':
    case 'flush':
    case 'fsync':
    case 'release':
    case 'ftruncate':
    case 'chown':
      return KEEP;
    case 'open':
      // Only an open for writing copies up.
      return (Number(args[1]) & (O_ACCMODE | O_TRUNC)) === 0
        ? KEEP
        : { kind: 'paths', paths: [path(0)], subtree: false };
    case 'create':
    case 'mkdir':
    case 'unlink':
    case 'truncate':
    case 'chmod':
    case 'utimens':
      return { kind: 'paths', paths: [path(0)], subtree: false };
    case 'symlink':
      return { kind: 'paths', paths: [path(1)], subtree: false };
    case 'link':
      return { kind: 'paths', paths: [path(0), path(1)], subtree: false };
    case 'rename':
      return { kind: 'paths', paths: [path(0), path(1)], subtree: true };
    case 'rmdir':
      return { kind: 'paths', paths: [path(0)], subtree: true };
    default:
      return ALL;
  }
}

export interface AttrCacheBinding {
  cordon_cache_set(thread: Buffer, path: string, abs: string, flags: number): void;
  cordon_cache_bump(thread: Buffer): void;
  cordon_cache_forget(thread: Buffer, path: string, subtree: number): void;
  cordon_cache_config(thread: Buffer, uid: number, gid: number): void;
}

/** One mount's cache; gone with the mount (the native side frees it at unmount). */
export class NativeAttrCache {
  readonly #binding: AttrCacheBinding;
  readonly #thread: Buffer;

  constructor(binding: AttrCacheBinding, thread: Buffer, owner: { uid: number; gid: number }) {
    this.#binding = binding;
    this.#thread = thread;
    binding.cordon_cache_config(thread, owner.uid, owner.gid);
  }

  set(p: string, abs: string, flags: number): void {
    this.#binding.cordon_cache_set(this.#thread, p, abs, flags);
  }

  /** Forgets every cached resolution. */
  bump(): void {
    this.#binding.cordon_cache_bump(this.#thread);
  }

  /** Applies an operation's invalidation; call before the operation runs. */
  forget(inv: Invalidation): void {
    if (inv.kind === 'none') return;
    if (inv.kind === 'all') {
      this.bump();
      return;
    }
    for (const p of inv.paths)
      this.#binding.cordon_cache_forget(this.#thread, p, inv.subtree ? 1 : 0);
  }
}
