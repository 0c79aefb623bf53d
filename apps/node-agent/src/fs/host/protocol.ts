// Messages between the node agent (parent) and an fs host (child) over the IPC channel.
import type { CanonicalPolicy } from '@cordon/policy';
import type { DenialEvent, RateLimit } from '../audit.ts';
import type { FsErrorCode } from '../errors.ts';
import type { FsTuning } from '../options.ts';

export interface HostConfig {
  readonly sandboxId: string;
  readonly sourceDir: string;
  readonly deltaDir: string;
  readonly mountPoint: string;
  readonly policy: { readonly canonical: CanonicalPolicy; readonly hash: string };
  readonly quotaBytes: number;
  readonly owner: { readonly uid: number; readonly gid: number };
  readonly tuning: FsTuning;
  readonly rateLimit: RateLimit;
  /**
   * The parent has just created deltaDir (it was absent): nothing to scan or reload. Absent or
   * false: the delta is read from disk (a recovered sandbox keeps its uncommitted changes).
   */
  readonly freshDelta?: boolean;
}

export type RequestType =
  | 'unmount'
  | 'quiesce'
  | 'resume'
  | 'resetDelta'
  | 'invalidate'
  | 'beforeExec'
  | 'health'
  | 'flushDenials'
  | 'prepareExec'
  | 'afterExec';

export interface HostRequest {
  readonly id: number;
  readonly type: RequestType;
  readonly paths?: readonly string[];
  /** afterExec: a commit follows, so an empty delta may be settled here (see FsServer.afterExec). */
  readonly commit?: boolean;
}

/** Answer to afterExec. */
export interface HostAfterExec {
  /**
   * Nothing to commit: no upper-layer entry, no whiteout, and no first-seen record left (dropped
   * here when `commit` was asked, exactly as a commit of an empty delta would clear them).
   */
  readonly clean: boolean;
}

export interface HostHealth {
  readonly mounted: boolean;
  readonly paused: boolean;
  readonly openHandles: number;
  readonly usedBytes: number;
  readonly quotaBytes: number;
  readonly pendingInvalidation: boolean;
  readonly remounts: number;
}

export type HostMessage =
  | { readonly type: 'ready' }
  /** Answer to premount: the (unconfigured) mount is up. */
  | { readonly type: 'premounted' }
  | { readonly type: 'fatal'; readonly code: FsErrorCode; readonly message: string }
  | { readonly type: 'denials'; readonly events: readonly DenialEvent[]; readonly dropped: number }
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly result: unknown }
  | {
      readonly type: 'reply';
      readonly id: number;
      readonly ok: false;
      readonly code: FsErrorCode;
      readonly message: string;
    };

export type ParentMessage =
  | { readonly type: 'start'; readonly config: HostConfig }
  /**
   * Pool hosts: mount at `mountPoint` now, serving nothing (EIO) until `start`, whose config must
   * name the same mount point and tuning (see FsServer.premount).
   */
  | { readonly type: 'premount'; readonly mountPoint: string; readonly tuning: FsTuning }
  | HostRequest;
