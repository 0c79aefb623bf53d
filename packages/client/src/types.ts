import type { Level, PresetName, Rule } from '@cordon/policy';
import type { HANDLER_LANGUAGES, NetworkMode } from '@cordon/protocol';

/** Sandbox limits. Every field is optional; the defaults are the gateway's (see README). */
export interface LimitsOptions {
  /** Memory of all processes of an exec. Default 1 GiB. */
  readonly memoryBytes?: number;
  /** CPU quota, 1000 = one core. Default 1000. */
  readonly cpuMillicores?: number;
  /** Processes and threads at once. Default 512. */
  readonly pids?: number;
  /** Wall-clock limit of each exec; null = none. Default none. */
  readonly timeoutMs?: number | null;
  /** stdout + stderr kept per exec; beyond it output is dropped (`truncated`). Default 64 MiB. */
  readonly outputBytes?: number;
}

/** A rule as an object, or as the CLI writes it: `'/src/**=write@20'`. */
export type RuleOption = Rule | string;

export interface SandboxOptions {
  /** A preset to start from: agent-safe, read-only, full-access, development, view-only. */
  readonly preset?: PresetName;
  /** Rules on top of the preset; they win ties against it. */
  readonly rules?: readonly RuleOption[];
  readonly limits?: LimitsOptions;
  /** `'none'` (default) or `'host'`. */
  readonly network?: NetworkMode;
  /** Strict mode: refuse rules that cannot be enforced exactly. Default false. */
  readonly strict?: boolean;
  /** Destroy the sandbox after this long without an exec; null = never. Default null. */
  readonly idleTimeoutMs?: number | null;
  /** When an exec's changes reach the codebase: `always` (default), `on-success`, `never`. */
  readonly commit?: 'always' | 'on-success' | 'never';
  /** `lww` (default): last writer wins, conflicts counted; `reject-conflicts`: refuse the commit. */
  readonly commitMode?: 'lww' | 'reject-conflicts';
  /** Bytes of changed files the sandbox may hold (writes beyond fail with ENOSPC). Default 1 GiB. */
  readonly quotaBytes?: number;
}

/** Changes an exec committed to the codebase. */
export interface CommitSummary {
  readonly committed: boolean;
  readonly added: number;
  readonly modified: number;
  readonly deleted: number;
  /** Paths another sandbox changed since this one read them (last writer won). */
  readonly conflicts: number;
  /** Why the commit failed (the changes stay in the sandbox); null otherwise. */
  readonly error: string | null;
}

/** An access the policy refused. */
export interface Denial {
  readonly sandboxId: string;
  readonly op: string;
  readonly path: string;
  /** The path's level under the policy. */
  readonly level: Level;
  /** The level the operation needed. */
  readonly required: Level;
  /** Epoch milliseconds. */
  readonly at: number;
}

export interface ExecResult {
  readonly execId: string;
  /** null when a signal ended the command (see `signal`), or when it never ran (canceled). */
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** It ran past `timeoutMs` and was killed. The CLI exits 124 then. */
  readonly timedOut: boolean;
  readonly oomKilled: boolean;
  readonly canceled: boolean;
  readonly durationMs: number;
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
  /** Output beyond `limits.outputBytes` was dropped. */
  readonly truncated: boolean;
  /** null when nothing was committed (nothing changed, or the codebase is not shared). */
  readonly commit: CommitSummary | null;
  /** Accesses the policy refused during this exec: the count and the first few. */
  readonly denials: DenialSummary;
}

export interface DenialSummary {
  readonly count: number;
  readonly sample: readonly Denial[];
}

export interface RunResult extends ExecResult {
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  /** Working directory, codebase-relative with a leading '/'. Default '/'. */
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Text fed to stdin (≤ 1 MiB), then closed. Default: no stdin. */
  readonly stdin?: string;
  /** This exec's wall-clock limit; overrides the sandbox's. Default: the sandbox's (none). */
  readonly timeoutMs?: number;
  /** Other limits of this exec only. */
  readonly limits?: Omit<LimitsOptions, 'timeoutMs'>;
}

export interface RunOptions extends ExecOptions {
  /** Called with each piece of output as it arrives. */
  readonly onOutput?: (event: { stream: 'stdout' | 'stderr'; data: Buffer }) => void;
  /** Aborting cancels the command; `run` then resolves with `canceled: true`. */
  readonly signal?: AbortSignal;
}

export interface SessionOptions {
  /** Closes the session after this long without a command. Default 15 min. */
  readonly idleTimeoutMs?: number;
  /** Initial environment of the shell. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface SessionRunOptions {
  /** This command's wall-clock limit. Default none. */
  readonly timeoutMs?: number;
}

export interface SessionRunResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly durationMs: number;
}

export type HandlerLanguage = (typeof HANDLER_LANGUAGES)[number];

export interface HandlerOptions {
  readonly language: HandlerLanguage;
  /** Source defining a function named `handler(event)`. */
  readonly code: string;
  /** Any JSON value. */
  readonly event: unknown;
  readonly timeoutMs?: number;
}

export interface HandlerResult<T = unknown> {
  /** What `handler(event)` returned (JSON); undefined when it failed (see `error`). */
  readonly result: T | undefined;
  readonly stdout: string;
  readonly stderr: string;
  /** The exception the handler raised, or Cordon's reason (Timeout, OutOfMemory, …). */
  readonly error: {
    readonly type: string;
    readonly message: string;
    readonly stack: string;
  } | null;
  readonly durationMs: number;
}

/** Progress of a fromLocal upload. */
export interface UploadProgress {
  readonly phase: 'scan' | 'upload' | 'done';
  readonly files: number;
  readonly bytes: number;
  /** Known after the scan. */
  readonly totalFiles: number | null;
  readonly totalBytes: number | null;
}

export interface FromLocalOptions extends SandboxOptions {
  /**
   * `auto` (default): use the directory itself when a node agent on this host accepts the path,
   * else upload it. `host-path` / `upload` force one.
   */
  readonly mode?: 'auto' | 'host-path' | 'upload';
  /** Extra .gitignore-style patterns left out of an upload (`.git/` is always left out). */
  readonly ignore?: readonly string[];
  readonly onProgress?: (p: UploadProgress) => void;
}

/** What `sb.pull()` changed in the local directory. */
export interface PullResult {
  readonly written: number;
  readonly deleted: number;
}
