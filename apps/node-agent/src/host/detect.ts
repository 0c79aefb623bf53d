// What this host supports, checked once at start with real probes (not guesses from config): the
// agent runs as root, bwrap ≥ 0.8 and setpriv exist, an unprivileged uid can create the sandbox's
// namespaces, a cgroup hierarchy with memory/cpu/pids is writable, /dev/fuse is there. Any miss
// is reported by name and the agent refuses to run sandboxes — it never falls back to running a
// command unsandboxed or unlimited.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { detectCgroupLayout, type CgroupLayout } from '../cgroup/detect.ts';
import { createCgroupDriver } from '../cgroup/driver.ts';
import { RunnerError } from '../runner/errors.ts';
import { hostSeccompArch, type SeccompArch } from '../seccomp/syscalls.ts';
import { DEFAULT_RUNTIME_DIR, prepareEtcSnapshot } from './etc-snapshot.ts';
import { detectRootLayout, type RootLayout } from './layout.ts';

const run = promisify(execFile);

export const MIN_BWRAP_VERSION = [0, 8, 0] as const;
/** The uid the user-namespace probe runs as (the overflow uid: exists everywhere, owns nothing). */
export const PROBE_UID = 65534;

export interface HostCapabilities {
  readonly bwrap: { readonly path: string; readonly version: string };
  readonly setprivPath: string;
  readonly cgroup: CgroupLayout;
  /** /dev/fuse is a usable character device. */
  readonly fuse: boolean;
  /** Arch of the strict-mode filter, or null: strict mode then fails closed. */
  readonly seccompArch: SeccompArch | null;
  readonly layout: RootLayout;
}

export type HostProblem =
  | 'NOT_ROOT'
  | 'BWRAP_MISSING'
  | 'BWRAP_TOO_OLD'
  | 'SETPRIV_MISSING'
  | 'UNSHARE_MISSING'
  | 'USERNS_UNAVAILABLE'
  | 'CGROUP_UNSUPPORTED'
  | 'CGROUP_NOT_WRITABLE'
  | 'FUSE_MISSING'
  | 'RUNTIME_DIR_UNUSABLE';

export type HostReport =
  | { readonly ok: true; readonly capabilities: HostCapabilities }
  | {
      readonly ok: false;
      readonly problems: readonly { readonly code: HostProblem; readonly message: string }[];
    };

export interface DetectHostOptions {
  /** Default true: the permission filesystem needs /dev/fuse. */
  readonly requireFuse?: boolean;
  /** Default true: create and remove a probe cgroup to prove the hierarchy is writable. */
  readonly probeCgroup?: boolean;
  /**
   * Where the agent keeps host-derived runtime files (the /etc snapshot). Default /run/cordon;
   * null: no snapshot, /etc entries are bound one by one (slower by a few ms per exec).
   */
  readonly runtimeDir?: string | null;
}

export function parseBwrapVersion(out: string): string | null {
  return /bubblewrap\s+(\d+\.\d+\.\d+)/.exec(out)?.[1] ?? null;
}

export function versionAtLeast(version: string, min: readonly number[]): boolean {
  const parts = version.split('.').map(Number);
  for (let i = 0; i < min.length; i++) {
    const a = parts[i] ?? 0;
    const b = min[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

export async function detectHost(opts: DetectHostOptions = {}): Promise<HostReport> {
  const problems: { code: HostProblem; message: string }[] = [];
  let layout = detectRootLayout();
  const runtimeDir = opts.runtimeDir === undefined ? DEFAULT_RUNTIME_DIR : opts.runtimeDir;
  if (runtimeDir !== null && process.getuid?.() === 0) {
    try {
      layout = { ...layout, etcDir: await prepareEtcSnapshot(runtimeDir) };
    } catch (err) {
      problems.push({
        code: 'RUNTIME_DIR_UNUSABLE',
        message: `cannot prepare the /etc snapshot in ${runtimeDir}: ${(err as Error).message}`,
      });
    }
  }

  if (process.getuid?.() !== 0) {
    problems.push({
      code: 'NOT_ROOT',
      message:
        'the node agent must run as root to start sandboxes as per-sandbox uids and to manage cgroups',
    });
  }

  let bwrapVersion: string | null = null;
  if (!fs.existsSync(layout.bwrapPath)) {
    problems.push({
      code: 'BWRAP_MISSING',
      message:
        'bubblewrap (bwrap) not found in /usr/bin, /bin or /usr/local/bin: install it (Debian: apt-get install bubblewrap)',
    });
  } else {
    try {
      const { stdout } = await run(layout.bwrapPath, ['--version']);
      bwrapVersion = parseBwrapVersion(stdout);
    } catch (err) {
      problems.push({
        code: 'BWRAP_MISSING',
        message: `${layout.bwrapPath} --version failed: ${(err as Error).message}`,
      });
    }
    if (bwrapVersion !== null && !versionAtLeast(bwrapVersion, MIN_BWRAP_VERSION)) {
      problems.push({
        code: 'BWRAP_TOO_OLD',
        message: `bwrap ${bwrapVersion} lacks --disable-userns; need >= ${MIN_BWRAP_VERSION.join('.')}`,
      });
    }
  }
  if (!fs.existsSync(layout.setprivPath)) {
    problems.push({
      code: 'SETPRIV_MISSING',
      message:
        'setpriv not found: install util-linux (it drops root to the sandbox uid before bwrap)',
    });
  }
  if (!fs.existsSync(layout.unsharePath ?? '/usr/bin/unshare')) {
    problems.push({
      code: 'UNSHARE_MISSING',
      message:
        'unshare not found: install util-linux (it gives each exec a pid namespace so no process is left for the host init to reap)',
    });
  }

  if (bwrapVersion !== null && fs.existsSync(layout.setprivPath)) {
    // The whole chain for real: an unprivileged uid creating every namespace the sandbox uses.
    try {
      await run(
        layout.setprivPath,
        [
          `--reuid=${PROBE_UID}`,
          `--regid=${PROBE_UID}`,
          '--clear-groups',
          '--',
          layout.bwrapPath,
          '--unshare-user',
          '--unshare-pid',
          '--unshare-ipc',
          '--unshare-uts',
          '--unshare-cgroup',
          '--unshare-net',
          '--disable-userns',
          '--ro-bind',
          '/usr',
          '/usr',
          ...layout.roots.flatMap((r) =>
            r.kind === 'symlink'
              ? ['--symlink', r.target, r.path]
              : r.path === '/usr'
                ? []
                : ['--ro-bind', r.path, r.path],
          ),
          '--proc',
          '/proc',
          '--dev',
          '/dev',
          '--',
          'true',
        ],
        { env: { PATH: '/usr/bin:/bin' } },
      );
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      problems.push({
        code: 'USERNS_UNAVAILABLE',
        message:
          `an unprivileged uid cannot create the sandbox namespaces (${(e.stderr ?? e.message).trim()}). ` +
          'Enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0; ' +
          'on Ubuntu also kernel.apparmor_restrict_unprivileged_userns=0).',
      });
    }
  }

  const cg = detectCgroupLayout();
  if (!cg.ok) {
    problems.push({ code: 'CGROUP_UNSUPPORTED', message: cg.reason });
  } else if (opts.probeCgroup ?? true) {
    try {
      const sb = await createCgroupDriver(cg.layout).openSandbox(`.probe-${process.pid}`, {
        memoryBytes: 64 * 1024 * 1024,
        cpuMillicores: 100,
        pids: 16,
      });
      const leaf = await sb.createExec('probe');
      await leaf.remove();
      await sb.remove();
    } catch (err) {
      problems.push({
        code: 'CGROUP_NOT_WRITABLE',
        message: `cgroup v${cg.layout.version} is not usable for limits: ${(err as Error).message}`,
      });
    }
  }

  const fuse = isCharDevice('/dev/fuse');
  if (!fuse && (opts.requireFuse ?? true)) {
    problems.push({
      code: 'FUSE_MISSING',
      message:
        '/dev/fuse is missing: load the fuse module (modprobe fuse) or pass the device into the container',
    });
  }

  if (problems.length > 0 || !cg.ok || bwrapVersion === null) {
    return { ok: false, problems };
  }
  return {
    ok: true,
    capabilities: {
      bwrap: { path: layout.bwrapPath, version: bwrapVersion },
      setprivPath: layout.setprivPath,
      cgroup: cg.layout,
      fuse,
      seccompArch: hostSeccompArch(),
      layout,
    },
  };
}

/** detectHost, throwing RunnerError('HOST_UNSUPPORTED') that lists every missing piece. */
export async function requireHost(opts: DetectHostOptions = {}): Promise<HostCapabilities> {
  const report = await detectHost(opts);
  if (report.ok) return report.capabilities;
  throw new RunnerError(
    'HOST_UNSUPPORTED',
    `this host cannot run Cordon sandboxes:\n${report.problems.map((p) => `  - [${p.code}] ${p.message}`).join('\n')}`,
  );
}

function isCharDevice(p: string): boolean {
  try {
    return fs.statSync(p).isCharacterDevice();
  } catch {
    return false;
  }
}
