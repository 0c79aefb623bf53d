// Per-mount state the FUSE handlers share. One context per mounted sandbox; nothing global.
import type { Level, Policy } from '@cordon/policy';
import type { DenialEvent } from './audit.ts';
import type { FileRec } from './delta-index.ts';
import type { Layers, Owner } from './layers.ts';

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
  readonly handles: Map<number, Handle>;
  readonly onDenial: (event: DenialEvent) => void;
}

export function denial(
  ctx: FsContext,
  op: string,
  path: string,
  level: Level,
  required: Level,
): DenialEvent {
  return { sandboxId: ctx.sandboxId, op, path, level, required, at: Date.now() };
}
