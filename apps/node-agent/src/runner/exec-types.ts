// The shapes of an exec as callers see it: options, the running exec, its result, and how bwrap's
// exit status maps to an exit code or a signal.
import { constants as osConstants } from 'node:os';
import type { Writable } from 'node:stream';
import type { OutputChunk } from '../output/mux.ts';

export const DEFAULT_KILL_GRACE_MS = 2000;

export interface ExecOptions {
  /** Wall-clock limit; no timeout when absent. On expiry: SIGTERM, then SIGKILL after the grace. */
  readonly timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL on timeout/cancel. Default 2000 ms. */
  readonly killGraceMs?: number;
  /** Aborting cancels the exec (same termination as a timeout, reported as `canceled`). */
  readonly signal?: AbortSignal;
  /** Output cap for this exec; default the sandbox's limits.outputBytes (64 MiB). */
  readonly outputBytes?: number;
  /** Unconsumed output at which the command's pipes are paused. Default 1 MiB. */
  readonly highWaterBytes?: number;
  /** 'pipe' exposes `stdin` on the running exec; default 'ignore' (the command reads EOF). */
  readonly stdin?: 'ignore' | 'pipe';
}

export interface ExecResult {
  /** The command's exit code, or null when it was ended by a signal. */
  readonly exitCode: number | null;
  /**
   * The signal that ended the command, else null. bwrap reports a signal death as exit status
   * 128+N (as a shell does), so a command that itself exits 137 also reads as SIGKILL.
   */
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** A process of this exec was killed by the OOM killer (memory limit). */
  readonly oomKilled: boolean;
  readonly canceled: boolean;
  readonly durationMs: number;
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
  readonly truncated: boolean;
}

export interface RunningExec extends AsyncIterable<OutputChunk> {
  readonly execId: string;
  /**
   * Host pid of the agent's child for this exec, for diagnostics: unshare at the top of the
   * standby chain (see standby.ts), or bwrap's monitor for an argv the standby cannot carry.
   */
  readonly pid: number | undefined;
  readonly stdin: Writable | null;
  /**
   * Resolves once the command and every process it started are gone and all output was
   * consumed (iterate the exec, or call drain()). Never rejects for a failing command.
   */
  readonly result: Promise<ExecResult>;
  /** Cancels the exec; idempotent. */
  cancel(): void;
  /** Host pids currently in the exec's cgroup (empty once it is over). */
  pids(): Promise<number[]>;
  /** Discards the output (for callers that only need the result). */
  drain(): Promise<void>;
}

const signalNames = new Map<number, NodeJS.Signals>(
  Object.entries(osConstants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

export function decodeExit(
  code: number | null,
  signal: NodeJS.Signals | null,
): Pick<ExecResult, 'exitCode' | 'signal'> {
  if (signal !== null) return { exitCode: null, signal };
  if (code !== null && code > 128) {
    const name = signalNames.get(code - 128);
    if (name) return { exitCode: null, signal: name };
  }
  return { exitCode: code, signal: null };
}
