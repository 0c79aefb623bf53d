// A thin adapter over the runner for sessions and handlers, which need two things a plain exec does
// not: extra bind mounts (a host directory with the session's FIFOs or the handler's code) and extra
// file descriptors (control channels) inherited by the sandboxed process. The argv still comes from
// the runner's buildBwrapArgs and the cgroup-joining wrapper from its spawn module; this module only
// splices binds in front of the command and wires more stdio slots.
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable, Writable } from 'node:stream';
import type { ExecCgroup, SandboxCgroup } from '../cgroup/types.ts';
import type { RootLayout } from '../host/layout.ts';
import { buildBwrapArgs, SANDBOX_FDS, sandboxFdPayloads } from '../runner/bwrap-args.ts';
import { wrapperArgv } from '../runner/spawn.ts';
import { parentPid } from '../runner/terminate.ts';
import type { ExecRequest, SandboxSpec } from '../runner/spec.ts';
import { compileSeccompFilter } from '../seccomp/filter.ts';
import { SessionError } from './errors.ts';

/** What sessions and handlers need of a sandbox. A SandboxRunner provides spec, cgroup and seccompProgram. */
export interface SandboxHandle {
  readonly spec: SandboxSpec;
  /** The sandbox cgroup; each session / handler run gets its own leaf below it. */
  readonly cgroup: SandboxCgroup;
  /** Compiled strict-mode filter (default: compiled for this host when spec.strict). */
  readonly seccompProgram?: Uint8Array | undefined;
  /** Host layout from host detection (default: detected on each spawn). */
  readonly layout?: RootLayout | undefined;
}

export interface ExtraBind {
  readonly hostPath: string;
  /** Absolute path inside the sandbox; created on bwrap's root tmpfs when missing. */
  readonly sandboxPath: string;
  readonly readOnly: boolean;
}

/** The first child fd free for callers: the runner's payload fds (passwd, group, seccomp) come before. */
export const FIRST_EXTRA_FD = Math.max(...Object.values(SANDBOX_FDS)) + 1;

const WRAPPER_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

/**
 * Inserts bind flags into the runner's vector (pure): before its first `--remount-ro` (binds after
 * it would hit a read-only root), else just before the `--` that precedes `argv`. They land after
 * the runner's own mounts, on top of its tmpfs root. Throws when the vector does not end in
 * `-- …argv` — the runner's layout changed and guessing would be unsafe.
 */
export function withBinds(
  vector: readonly string[],
  argv: readonly string[],
  binds: readonly ExtraBind[],
): string[] {
  const sep = vector.length - argv.length - 1;
  const tailMatches =
    sep >= 0 && vector[sep] === '--' && argv.every((a, i) => vector[sep + 1 + i] === a);
  if (!tailMatches) {
    throw new SessionError(
      'START_FAILED',
      'the runner argv does not end in "-- <argv>"; update session/sandbox-process.ts to its layout',
    );
  }
  const flags: string[] = [];
  for (const b of binds) {
    if (
      !b.sandboxPath.startsWith('/') ||
      b.sandboxPath.includes('\0') ||
      b.hostPath.includes('\0')
    ) {
      throw new SessionError(
        'INVALID_REQUEST',
        `bind paths must be absolute and NUL-free, got ${JSON.stringify(b)}`,
      );
    }
    flags.push(b.readOnly ? '--ro-bind' : '--bind', b.hostPath, b.sandboxPath);
  }
  const remount = vector.indexOf('--remount-ro');
  const at = remount >= 0 && remount < sep ? remount : sep;
  return [...vector.slice(0, at), ...flags, ...vector.slice(at)];
}

/** The full host argv: cgroup-joining wrapper → setpriv → bwrap (with the extra binds) → argv. */
export function sandboxArgv(
  handle: SandboxHandle,
  req: ExecRequest,
  leaf: ExecCgroup,
  binds: readonly ExtraBind[],
): string[] {
  const vector = withBinds(buildBwrapArgs(handle.spec, req, handle.layout), req.argv, binds);
  return wrapperArgv(leaf.procsFiles, vector);
}

export function seccompFor(handle: SandboxHandle): Uint8Array | null {
  return handle.spec.strict ? (handle.seccompProgram ?? compileSeccompFilter()) : null;
}

export interface SpawnExtraOptions {
  readonly leaf: ExecCgroup;
  readonly binds: readonly ExtraBind[];
  /** Number of extra socket fds, numbered from FIRST_EXTRA_FD. */
  readonly extraFds: number;
  readonly stdin: 'pipe' | 'ignore';
}

export interface SpawnedSandbox {
  readonly child: ChildProcess;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Duplex sockets for the extra fds, index 0 = FIRST_EXTRA_FD. */
  readonly extra: readonly (Readable & Writable)[];
}

/** Spawns `req.argv` in the sandbox with extra binds and fds. Never throws for a failing command. */
export function spawnSandboxProcess(
  handle: SandboxHandle,
  req: ExecRequest,
  opts: SpawnExtraOptions,
): SpawnedSandbox {
  const payloads = sandboxFdPayloads(handle.spec, seccompFor(handle));
  const [file, ...args] = sandboxArgv(handle, req, opts.leaf, opts.binds);
  const stdio: ('pipe' | 'ignore')[] = [opts.stdin, 'pipe', 'pipe'];
  for (let fd = 3; fd < FIRST_EXTRA_FD + opts.extraFds; fd++) {
    stdio[fd] = fd >= FIRST_EXTRA_FD || payloads.has(fd) ? 'pipe' : 'ignore';
  }
  const child = spawn(file as string, args, { stdio, env: WRAPPER_ENV });
  // Spawn errors surface as the exit; an unhandled 'error' event would crash the agent.
  child.on('error', () => undefined);
  for (const [fd, data] of payloads) {
    const w = child.stdio[fd] as Writable | null;
    w?.on('error', () => undefined);
    w?.end(data);
  }
  const extra: (Readable & Writable)[] = [];
  for (let i = 0; i < opts.extraFds; i++) {
    const s = child.stdio[FIRST_EXTRA_FD + i] as (Readable & Writable) | null;
    if (!s)
      throw new SessionError(
        'START_FAILED',
        `fd ${FIRST_EXTRA_FD + i} of the sandbox process was not created`,
      );
    s.on('error', () => undefined);
    extra.push(s);
  }
  if (!child.stdout || !child.stderr)
    throw new SessionError('START_FAILED', 'the sandbox process has no stdout/stderr pipes');
  return { child, stdout: child.stdout, stderr: child.stderr, extra };
}

/** How long killSandbox waits for bwrap to exit after its namespace init was killed. */
const BWRAP_EXIT_WAIT_MS = 2000;

/**
 * Ends a whole sandbox process tree. The pid namespace's init (bwrap's child) goes first: the kernel
 * then kills every process of the namespace, daemons included, and the outer bwrap exits and is
 * reaped by us. SIGKILLing everything at once instead can kill the outer bwrap first, which leaves
 * the init as a zombie of the host's pid 1. Whatever is left in the cgroup is killed after.
 */
export async function killSandbox(
  leaf: ExecCgroup,
  outerPid: number | undefined,
  exited: Promise<unknown>,
): Promise<void> {
  if (outerPid !== undefined) {
    for (const pid of await leaf.pids()) {
      if ((await parentPid(pid)) !== outerPid) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const wait = new AbortController();
    await Promise.race([
      exited,
      sleep(BWRAP_EXIT_WAIT_MS, undefined, { signal: wait.signal }).catch(() => undefined),
    ]);
    wait.abort();
  }
  await leaf.killAll();
}
