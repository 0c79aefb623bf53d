import type { PresetName, Rule } from '@cordon/policy';
import type {
  DenialEvent,
  ExecResult as WireExecResult,
  HANDLER_LANGUAGES,
  JsonValue,
  NetworkMode,
} from '@cordon/protocol';

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
  /** Strict mode: a seccomp filter makes dangerous syscalls (ptrace, mount, bpf…) fail with EPERM. Default false. */
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

/** Changes an exec committed, the accesses it was denied: the wire types, one schema each. */
export type { CommitSummary, DenialSummary } from '@cordon/protocol';

/** An access the policy refused. */
export type Denial = DenialEvent;

/** How an exec ended. `timedOut`: it ran past `timeoutMs` and was killed (the CLI exits 124). */
export interface ExecResult extends Omit<WireExecResult, 'handler'> {
  readonly execId: string;
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
  /** Closes the session after this long without a command (terminal: without input). Default 15 min. */
  readonly idleTimeoutMs?: number;
  /** Initial environment of the shell. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface TerminalOptions extends SessionOptions {
  /** Width in character cells (1–10 000). */
  readonly cols: number;
  /** Height in character cells (1–10 000). */
  readonly rows: number;
  /** TERM inside the sandbox. Default `xterm-256color`. */
  readonly term?: string;
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
  readonly event?: JsonValue;
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
