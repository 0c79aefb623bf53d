// What a SandboxRunner is given: the node's context and per-sandbox options.
import type { CgroupDriver } from '../cgroup/types.ts';
import type { HostCapabilities } from '../host/detect.ts';
import type { Spawner } from '../spawner/types.ts';

export interface RunnerContext {
  readonly host: HostCapabilities;
  readonly cgroups: CgroupDriver;
  /**
   * Starts the sandbox processes. Default: in this process (LocalSpawner); a node agent passes
   * its spawner process (RemoteSpawner), so a fork never blocks its event loop.
   */
  readonly spawner?: Spawner;
}

export interface RunnerOptions {
  /**
   * Standbys kept per sandbox, each spawned ahead of time into a fresh exec leaf and set up inside
   * bwrap, so an exec waits for neither the cgroup join nor bwrap (see standby.ts). Default 2 (an
   * exec issued right after the previous one finds one ready too); 0 makes each exec spawn its
   * own. Each is five processes while it waits: unshare and a bash in the agent's cgroup; bwrap's
   * monitor and init and the stub bash in the leaf, which count against the sandbox's limits
   * (3 pids, ~2 MiB) — so fewer are kept when the limits are small (see standbyBudget).
   */
  readonly standbys?: number;
  /**
   * Check that workspaceDir is a directory before opening. Default true; false when the caller
   * mounts it concurrently and fails the open if the mount fails (Sandbox.create).
   */
  readonly checkWorkspace?: boolean;
  /**
   * Resolve open() only once the first standby is spawned. Default true; false resolves once the
   * cgroup exists and leaves the standby being made (the first exec waits for it, as it would for
   * one being refilled), so a sandbox create does not wait for a process spawn.
   */
  readonly awaitStandby?: boolean;
  /**
   * Make standbys from open() on. Default true; false when the workspace is still being mounted
   * (a standby binds it as it is when made): call startStandbys() once it is.
   */
  readonly startStandbys?: boolean;
}

export const DEFAULT_STANDBYS = 2;
