// Options, results and defaults of sessions (shared by the shell and PTY modes).
import fs from 'node:fs';
import os from 'node:os';
import type { OutputChunk } from '../output/mux.ts';

export const DEFAULT_IDLE_TIMEOUT_MS = 15 * 60 * 1000;
export const DEFAULT_START_TIMEOUT_MS = 15_000;

const TMPFS_MAGIC = 0x01021994;

/**
 * /dev/shm when it is a tmpfs, else os.tmpdir(): every command creates and removes a few files
 * there, which costs ~1 ms on a journaled disk filesystem and microseconds on tmpfs.
 */
export function defaultRuntimeDir(): string {
  try {
    if (fs.statfsSync('/dev/shm').type === TMPFS_MAGIC) return '/dev/shm';
  } catch {
    // no /dev/shm
  }
  return os.tmpdir();
}

export interface SessionOptions {
  /** Closes the session after this long with no command running and no call. Default 15 min. */
  readonly idleTimeoutMs?: number;
  /** Per-command timeout when run()/stream() give none. Default: none. */
  readonly commandTimeoutMs?: number;
  /** SIGTERM → SIGKILL grace for a timed-out or canceled command. Default 2000 ms. */
  readonly killGraceMs?: number;
  /** Initial working directory inside the sandbox. Default /workspace. */
  readonly cwd?: string;
  /** Initial environment on top of the sandbox's. */
  readonly env?: Readonly<Record<string, string>>;
  /** Host directory under which the session directory is made. Default: see defaultRuntimeDir(). */
  readonly runtimeDir?: string;
  /** How long the shell may take to come up. Default 15 s. */
  readonly startTimeoutMs?: number;
}

export interface SessionRunOptions {
  /** Wall-clock limit of this command; on expiry its process group gets SIGTERM, then SIGKILL. */
  readonly timeoutMs?: number;
  /** Aborting cancels the command (same termination as a timeout, reported as `canceled`). */
  readonly signal?: AbortSignal;
  /** Output cap of this command; default the sandbox's limits.outputBytes (64 MiB). */
  readonly outputBytes?: number;
  /** Unconsumed output at which the command is paused (stream()). Default 1 MiB. */
  readonly highWaterBytes?: number;
}

export interface SessionCommandResult {
  /** The shell's status of the command: 0–255, 128+N when signal N ended it. */
  readonly exitCode: number;
  readonly timedOut: boolean;
  readonly canceled: boolean;
  readonly durationMs: number;
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
  readonly truncated: boolean;
}

export interface SessionRunResult extends SessionCommandResult {
  readonly stdout: string;
  readonly stderr: string;
}

export interface SessionCommand extends AsyncIterable<OutputChunk> {
  /**
   * Resolves when the command is done and its output complete (consume it by iterating or
   * drain()); rejects with SessionError('SESSION_CLOSED') if the session ends first.
   */
  readonly result: Promise<SessionCommandResult>;
  cancel(): void;
  drain(): Promise<void>;
}
