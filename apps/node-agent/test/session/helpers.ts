// Set-up shared by the session and handler integration tests: real host detection, a temp root,
// sandboxes with their own uid and workspace, and cleanup of everything they started.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createCgroupDriver } from '../../src/cgroup/driver.ts';
import { requireHost, type HostCapabilities } from '../../src/host/detect.ts';
import { SandboxRunner, type RunnerContext } from '../../src/runner/runner.ts';
import { sandboxSpec, type SandboxSpecInput } from '../../src/runner/spec.ts';
import type { SandboxHandle } from '../../src/session/sandbox-process.ts';

export interface TestSandbox extends SandboxHandle {
  readonly runner: SandboxRunner;
}

export interface TestHost {
  readonly host: HostCapabilities;
  readonly root: string;
  sandbox(overrides?: Partial<SandboxSpecInput>): Promise<TestSandbox>;
  cleanup(): Promise<void>;
}

let uidCounter = 0;

/** Uids of their own (the runner's tests use 2.5M+), offset by pid so parallel runs do not collide. */
export function testUid(): number {
  return 2_700_000 + (process.pid % 10_000) * 16 + (uidCounter++ % 16);
}

export async function setupTestHost(): Promise<TestHost> {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'cordon-session-test-'));
  await fsp.chmod(root, 0o755);
  const host = await requireHost({ runtimeDir: path.join(root, 'run'), requireFuse: false });
  const ctx: RunnerContext = { host, cgroups: createCgroupDriver(host.cgroup) };
  const runners: SandboxRunner[] = [];
  let n = 0;
  return {
    host,
    root,
    async sandbox(overrides = {}) {
      const uid = overrides.uid ?? testUid();
      const ws = overrides.workspaceDir ?? path.join(root, `ws${n}`);
      if (!fs.existsSync(ws)) await fsp.mkdir(ws, { mode: 0o755 });
      await fsp.chown(ws, uid, uid);
      const spec = sandboxSpec({
        sandboxId: `s${process.pid}-${n++}-${Math.random().toString(36).slice(2, 8)}`,
        uid,
        gid: uid,
        ...overrides,
        workspaceDir: ws,
      });
      const runner = await SandboxRunner.open(spec, ctx);
      runners.push(runner);
      return {
        runner,
        spec,
        cgroup: runner.cgroup,
        seccompProgram: runner.seccompProgram,
        layout: host.layout,
      };
    },
    async cleanup() {
      for (const r of runners) await r.close();
      await fsp.rm(root, { recursive: true, force: true });
    },
  };
}

/** Host pids of live processes owned by `uid` (zombies included), found by scanning /proc. */
export function processesOfUid(uid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = fs.readFileSync(`/proc/${name}/status`, 'utf8');
      const m = /^Uid:\s+(\d+)/m.exec(status);
      if (m && Number(m[1]) === uid) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * As processesOfUid, without zombies. Only for paths where bwrap itself exits on its own: its
 * monitor process exits as soon as its namespace init reported the command's status, without
 * reaping that init, which then becomes a zombie of the host's pid 1 — and a container's pid 1
 * may never reap it. That zombie holds no resources; anything alive is a real leak.
 */
export function liveProcessesOfUid(uid: number): number[] {
  return processesOfUid(uid).filter((pid) => {
    try {
      return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return false;
    }
  });
}
