// The contract between the runner and a cgroup driver (v1 or v2). A sandbox has one cgroup that
// holds its limits (`<parent>/<sandboxId>`; a node agent's parent is `cordon/<nodeId>`, so it can
// tell its own leftovers from another agent's); every exec (or session) gets a leaf below it
// (`<parent>/<sandboxId>/<execId>`) so it can be signalled, killed and accounted on its own.

export interface CgroupLimits {
  readonly memoryBytes: number;
  readonly cpuMillicores: number;
  readonly pids: number;
}

export interface CgroupStats {
  /** Processes of this cgroup killed by the OOM killer so far. */
  readonly oomKills: number;
  /** CPU time consumed by the cgroup's processes, or null where the host does not account it. */
  readonly cpuUsageUsec: number | null;
  /** Peak memory, or null where the host does not report it. */
  readonly memoryPeakBytes: number | null;
}

export interface ExecCgroup {
  /** `<sandboxId>/<execId>`. */
  readonly name: string;
  /** Writing a pid into each of these files moves that process (and its future children) in. */
  readonly procsFiles: readonly string[];
  /** Host pids of all processes currently in the cgroup. */
  pids(): Promise<number[]>;
  /** Sends `signal` to every process in the cgroup; returns how many were signalled. */
  signalAll(signal: NodeJS.Signals): Promise<number>;
  /** SIGKILLs everything until the cgroup is empty (throws KILL_FAILED if it never empties). */
  killAll(): Promise<void>;
  stats(): Promise<CgroupStats>;
  /**
   * End of an exec: SIGKILLs whatever is left until the leaf is empty (as killAll), then returns
   * the OOM kill count. Already empty (the usual case) costs one read of pids.current and one of
   * the OOM counter, in parallel.
   */
  finish(): Promise<{ readonly oomKills: number }>;
  /**
   * Makes a finished, empty leaf ready for another exec instead of removing it (a leaf's mkdir
   * and rmdir in every hierarchy cost ~2 ms of the agent's CPU per exec, plus the kernel's work
   * to take a memory cgroup offline). Afterwards finish() counts OOM kills from 0 again; stats()
   * stays cumulative over the leaf's life, so reuse only leaves whose stats() nobody reads.
   * False (and the leaf unchanged) when it is not empty: remove it instead.
   */
  reuse(): Promise<boolean>;
  /** Kills what is left and removes the leaf. Idempotent. */
  remove(): Promise<void>;
}

export interface SandboxCgroup {
  readonly sandboxId: string;
  createExec(execId: string): Promise<ExecCgroup>;
  /** Kills every process of the sandbox and removes its cgroups. Idempotent. */
  remove(): Promise<void>;
}

export interface CgroupDriver {
  readonly version: 1 | 2;
  /** Creates (or reuses) `<parent>/<sandboxId>` and writes the limits. */
  openSandbox(sandboxId: string, limits: CgroupLimits): Promise<SandboxCgroup>;
  /** The sandbox cgroups under this driver's parent (whoever made them). */
  listSandboxes(): Promise<string[]>;
  /**
   * Kills whatever is left in `<parent>/<sandboxId>` and removes it with its leaves, without opening
   * it: for a sandbox destroyed while its agent was down. No-op when it does not exist.
   */
  removeSandbox(sandboxId: string): Promise<void>;
}
