// What the runner needs of a started sandbox process, whoever started it (see spawner/index.ts).
import type { Readable, Writable } from 'node:stream';

/** A process to start: argv as data, never a shell string. */
export interface SpawnRequest {
  readonly file: string;
  readonly args: readonly string[];
  /** The whole environment (nothing is inherited). */
  readonly env: Readonly<Record<string, string>>;
  /** stdin: a pipe the caller writes, or /dev/null. */
  readonly stdin: 'pipe' | 'ignore';
  /**
   * Data for extra descriptors, by child fd (3 and up): each is a pipe the child reads to EOF.
   * Descriptors between 3 and the highest one without data are closed.
   */
  readonly payloads?: ReadonlyMap<number, Uint8Array>;
}

export interface ProcessExit {
  /** Exit status; null when killed by a signal or when the process never started. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SandboxProcess {
  readonly pid: number | undefined;
  /** null when the request asked for 'ignore'. */
  readonly stdin: Writable | null;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<ProcessExit>;
  /** Whether `exited` has resolved. */
  readonly hasExited: boolean;
  /** Sends a signal while the process runs; a no-op once it has exited. */
  kill(signal: NodeJS.Signals): void;
}

/** Starts sandbox processes. One per node agent (no globals). */
export interface Spawner {
  /** Resolves once the process runs and its stdio is connected; rejects if it cannot start. */
  spawn(req: SpawnRequest): Promise<SandboxProcess>;
  close(): Promise<void>;
}
