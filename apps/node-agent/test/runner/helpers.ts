// Shared set-up for the runner's integration tests: real host detection, a temp runtime dir, a
// workspace owned by the sandbox uid, unique sandbox ids, and cleanup of everything started.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createCgroupDriver } from '../../src/cgroup/driver.ts';
import { requireHost, type HostCapabilities } from '../../src/host/detect.ts';
import {
  collect,
  SandboxRunner,
  type ExecOptions,
  type ExecResult,
  type RunnerContext,
} from '../../src/runner/runner.ts';
import { sandboxSpec, type ExecRequest, type SandboxSpecInput } from '../../src/runner/spec.ts';
import { PRIMED_STUB } from '../../src/runner/standby.ts';
import { RemoteSpawner } from '../../src/spawner/remote.ts';

export interface TestHost {
  /** With a spawner process, as a node agent runs it (RemoteSpawner). */
  readonly ctx: RunnerContext & { readonly spawner: RemoteSpawner };
  readonly host: HostCapabilities;
  readonly root: string;
  /** A fresh sandbox with its own uid and workspace; closed by cleanup(). */
  sandbox(overrides?: Partial<SandboxSpecInput>): Promise<SandboxRunner>;
  cleanup(): Promise<void>;
}

let uidCounter = 0;

/** Uids for tests: a range of their own, offset by pid so parallel runs do not share one. */
export function testUid(base = 2_500_000): number {
  return base + (process.pid % 10_000) * 16 + (uidCounter++ % 16);
}

export interface TestHostOptions {
  /** First uid of this suite's range (suites use distinct ranges). Default 2,500,000. */
  readonly uidBase?: number;
  /** Prefix of sandbox ids and of the temp root. Default `t` / `cordon-runner-`. */
  readonly idPrefix?: string;
  readonly tmpPrefix?: string;
}

export async function setupTestHost(o: TestHostOptions = {}): Promise<TestHost> {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), o.tmpPrefix ?? 'cordon-runner-'));
  await fsp.chmod(root, 0o755);
  const host = await requireHost({ runtimeDir: path.join(root, 'run'), requireFuse: false });
  const spawner = new RemoteSpawner({ setprivPath: host.layout.setprivPath });
  const ctx = { host, cgroups: createCgroupDriver(host.cgroup), spawner };
  const runners: SandboxRunner[] = [];
  let n = 0;
  return {
    ctx,
    host,
    root,
    async sandbox(overrides = {}) {
      const uid = overrides.uid ?? testUid(o.uidBase);
      const ws = overrides.workspaceDir ?? path.join(root, `ws${n}`);
      if (!fs.existsSync(ws)) await fsp.mkdir(ws, { mode: 0o755 });
      await fsp.chown(ws, uid, uid);
      const spec = sandboxSpec({
        sandboxId: `${o.idPrefix ?? 't'}${process.pid}-${n++}-${Math.random().toString(36).slice(2, 8)}`,
        uid,
        gid: uid,
        ...overrides,
        workspaceDir: ws,
      });
      const r = await SandboxRunner.open(spec, ctx);
      runners.push(r);
      return r;
    },
    async cleanup() {
      for (const r of runners) await r.close();
      await spawner.close();
      await fsp.rm(root, { recursive: true, force: true });
    },
  };
}

export async function run(
  r: SandboxRunner,
  argv: readonly string[],
  opts: ExecOptions & Omit<ExecRequest, 'argv'> = {},
): Promise<{ result: ExecResult; stdout: string; stderr: string }> {
  const { cwd, env, newSession, ...execOpts } = opts;
  return collect(
    await r.exec(
      {
        argv,
        ...(cwd ? { cwd } : {}),
        ...(env ? { env } : {}),
        ...(newSession === undefined ? {} : { newSession }),
      },
      execOpts,
    ),
  );
}

/**
 * Host pids of processes owned by `uid`, found by scanning /proc, except standbys waiting for an
 * exec (they belong to the sandbox, not to an exec — see standbyProcessesOfUid). Zombies are excluded: bwrap's namespace init is
 * reparented to the host's init when bwrap's monitor exits, and reaping it is that init's job
 * (here it reaps every ~2 s) — see zombiesOfUid.
 */
export function processesOfUid(uid: number): number[] {
  return scanUid(uid)
    .filter((p) => !p.zombie && !isStandby(p.pid))
    .map((p) => p.pid);
}

/**
 * Whether `pid` is part of a standby (bwrap's monitor or init, or the stub): all three carry the
 * stub script in their command line; once the stub runs a command, that command does not.
 */
function isStandby(pid: number): boolean {
  const argv = cmdline(pid);
  return argv.at(-1) === 'cordon-exec' && argv.includes(PRIMED_STUB);
}

/** The processes of `uid`'s standbys (see isStandby). */
export function standbyProcessesOfUid(uid: number): number[] {
  return scanUid(uid)
    .map((p) => p.pid)
    .filter(isStandby);
}

function cmdline(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  } catch {
    return [];
  }
}

/** Every process owned by `uid`, zombies included, except standbys waiting for an exec. */
export function allProcessesOfUid(uid: number): number[] {
  return scanUid(uid)
    .filter((p) => !isStandby(p.pid))
    .map((p) => p.pid);
}

export function zombiesOfUid(uid: number): number[] {
  return scanUid(uid)
    .filter((p) => p.zombie)
    .map((p) => p.pid);
}

/** Waits until the host's init has reaped the uid's zombies (bounded; returns what is left). */
export async function waitZombiesReaped(uid: number, timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const z = zombiesOfUid(uid);
    if (z.length === 0 || Date.now() > deadline) return z;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function scanUid(uid: number): { pid: number; zombie: boolean }[] {
  const out: { pid: number; zombie: boolean }[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = fs.readFileSync(`/proc/${name}/status`, 'utf8');
      const m = /^Uid:\s+(\d+)/m.exec(status);
      if (m && Number(m[1]) === uid)
        out.push({ pid: Number(name), zombie: /^State:\s+Z/m.test(status) });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
