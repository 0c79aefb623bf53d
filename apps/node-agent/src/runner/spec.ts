// What a sandbox is, as far as the runner cares: who runs inside, what it sees at /workspace, and
// its limits. Plain data so it can be logged, compared and passed between modules.

/** Per-sandbox limits. Defaults: see DEFAULT_LIMITS. */
export interface SandboxLimits {
  /** Memory (RSS + page cache, and swap where the host accounts it) of the whole sandbox tree. */
  readonly memoryBytes: number;
  /** CPU bandwidth: 1000 = one full core. */
  readonly cpuMillicores: number;
  /** Maximum number of tasks (processes + threads) alive at once. */
  readonly pids: number;
  /** Per-exec cap on stdout + stderr bytes delivered; beyond it output is dropped (truncated). */
  readonly outputBytes: number;
}

export type NetworkMode = 'none' | 'host';

export interface SandboxSpec {
  /** Stable id; names the cgroup (`cordon/<sandboxId>`). [A-Za-z0-9_.-]{1,64}. */
  readonly sandboxId: string;
  /** Host path bound read-write at /workspace (normally the permission filesystem's mount). */
  readonly workspaceDir: string;
  /** Real unprivileged host uid/gid the sandboxed processes run as (never 0). See uid-pool.ts. */
  readonly uid: number;
  readonly gid: number;
  /** 'none' (default): own network namespace with loopback only. 'host': the host's network. */
  readonly network: NetworkMode;
  /** Strict mode: a seccomp filter denies dangerous syscalls with EPERM. Default false. */
  readonly strict: boolean;
  readonly limits: SandboxLimits;
  /** Extra environment for every exec of this sandbox (overrides the defaults, under req.env). */
  readonly env?: Readonly<Record<string, string>>;
}

export const GIB = 1024 * 1024 * 1024;
export const MIB = 1024 * 1024;

export const DEFAULT_LIMITS: SandboxLimits = Object.freeze({
  memoryBytes: 1 * GIB,
  cpuMillicores: 1000,
  pids: 512,
  outputBytes: 64 * MIB,
});

/** The request of one exec inside a sandbox. */
export interface ExecRequest {
  /** argv[0] is looked up on the sandbox PATH. A shell command is the caller's explicit ['bash','-lc',cmd]. */
  readonly argv: readonly string[];
  /** Absolute path inside the sandbox; default /workspace. */
  readonly cwd?: string;
  /** Overrides sandbox and default environment. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Default true: the command gets its own session (setsid), so it cannot inject input into a
   * terminal it was started from. A PTY session sets false to keep its controlling terminal.
   */
  readonly newSession?: boolean;
}

export interface SandboxSpecInput {
  readonly sandboxId: string;
  readonly workspaceDir: string;
  readonly uid: number;
  readonly gid: number;
  readonly network?: NetworkMode;
  readonly strict?: boolean;
  readonly limits?: Partial<SandboxLimits>;
  readonly env?: Readonly<Record<string, string>>;
}

/** Fills the documented defaults: network none, strict off, memory 1 GiB, pids 512, 1 core, 64 MiB output. */
export function sandboxSpec(input: SandboxSpecInput): SandboxSpec {
  return {
    sandboxId: input.sandboxId,
    workspaceDir: input.workspaceDir,
    uid: input.uid,
    gid: input.gid,
    network: input.network ?? 'none',
    strict: input.strict ?? false,
    limits: { ...DEFAULT_LIMITS, ...input.limits },
    ...(input.env ? { env: input.env } : {}),
  };
}
