// Per-mount state the FUSE handlers share. One context per mounted sandbox; nothing global.
import type { Level, Policy } from '@cordon/policy';
import type { NativeAttrCache } from './attr-cache.ts';
import type { DenialEvent } from './audit.ts';
import type { FileRec } from './delta-index.ts';
import type { Layers, Owner } from './layers.ts';
import type { Listings } from './listings.ts';

export interface Handle {
  readonly fd: number;
  readonly path: string;
  readonly writable: boolean;
  /** Quota record of the upper file written through this handle. */
  readonly rec: FileRec | null;
  /** The delta was reset under this handle (commit): writes are refused, reads still work. */
  stale: boolean;
}

export interface FsContext {
  readonly sandboxId: string;
  readonly policy: Policy;
  layers: Layers;
  /** Who every entry appears to belong to inside the sandbox. */
  readonly owner: Owner;
  /**
   * Writable handles (and, without native I/O, every handle). With native I/O a read-only handle
   * is not tracked: the patched addon reads from and closes its descriptor itself.
   */
  readonly handles: Map<number, Handle>;
  /** Read-only handles are served and released natively (tuning.nativeIo). */
  readonly nativeIo: boolean;
  /** The native getattr cache of the current mount, if enabled and mounted. */
  attrCache: NativeAttrCache | null;
  /** readdir answers kept between calls. */
  readonly listings: Listings;
  readonly onDenial: (event: DenialEvent) => void;
}

/** Marks a descriptor returned by open as untracked: the addon releases it (patch level 2). */
export const UNTRACKED_FD = 0x40000000;

export function denial(
  ctx: FsContext,
  op: string,
  path: string,
  level: Level,
  required: Level,
): DenialEvent {
  return { sandboxId: ctx.sandboxId, op, path, level, required, at: Date.now() };
}
