// Set-up shared by the session and handler integration tests: the runner's test host (real host
// detection, a temp root, sandboxes with their own uid and workspace, cleanup), with each sandbox
// handed out as the SandboxHandle sessions and handlers run on.
import type { HostCapabilities } from '../../src/host/detect.ts';
import type { SandboxRunner } from '../../src/runner/runner.ts';
import type { SandboxSpecInput } from '../../src/runner/spec.ts';
import type { SandboxHandle } from '../../src/session/sandbox-process.ts';
import {
  allProcessesOfUid,
  processesOfUid,
  setupTestHost as setupRunnerHost,
} from '../runner/helpers.ts';

export interface TestSandbox extends SandboxHandle {
  readonly runner: SandboxRunner;
}

export interface TestHost {
  readonly host: HostCapabilities;
  readonly root: string;
  sandbox(overrides?: Partial<SandboxSpecInput>): Promise<TestSandbox>;
  cleanup(): Promise<void>;
}

export async function setupTestHost(): Promise<TestHost> {
  // Uids of their own (the runner's tests use 2.5M+).
  const t = await setupRunnerHost({
    uidBase: 2_700_000,
    idPrefix: 's',
    tmpPrefix: 'cordon-session-test-',
  });
  return {
    host: t.host,
    root: t.root,
    async sandbox(overrides = {}) {
      const runner = await t.sandbox(overrides);
      return {
        runner,
        spec: runner.spec,
        cgroup: runner.cgroup,
        seccompProgram: runner.seccompProgram,
        layout: t.host.layout,
      };
    },
    cleanup: () => t.cleanup(),
  };
}

/** Host pids of processes owned by `uid`, zombies included. */
export { allProcessesOfUid as processesOfUid };

/**
 * As processesOfUid, without zombies. Only for paths where bwrap itself exits on its own: its
 * monitor process exits as soon as its namespace init reported the command's status, without
 * reaping that init, which then becomes a zombie of the host's pid 1 — and a container's pid 1
 * may never reap it. That zombie holds no resources; anything alive is a real leak.
 */
export const liveProcessesOfUid = processesOfUid;
