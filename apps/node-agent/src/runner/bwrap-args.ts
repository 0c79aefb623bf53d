// The sandbox invocation as data: (spec, request) → the full argument vector
//   setpriv --reuid U --regid G --clear-groups … -- bwrap <isolation flags> -- argv…
// Pure apart from the optional host layout default; unit-tested without spawning.
//
// Why setpriv: bwrap started by root with `--uid N` maps N inside to uid 0 outside, so the sandbox
// would still be host root (it read /etc/shadow in our tests). bwrap must itself run as a real
// unprivileged host uid, which then is the uid inside (identity-mapped user namespace).
//
// Data the argv refers to by file descriptor (see SANDBOX_FDS) is produced by sandboxFdPayloads();
// spawnSandboxed() wires both together. Spawning the argv without those fds makes bwrap fail — it
// never runs the command with a missing piece.
import { detectRootLayout, type RootLayout } from '../host/layout.ts';
import { RunnerError } from './errors.ts';
import { groupFile, passwdFile, SANDBOX_HOME, SANDBOX_USER } from './identity.ts';
import type { ExecRequest, SandboxSpec } from './spec.ts';

export const SANDBOX_HOSTNAME = 'cordon';
export const WORKSPACE = '/workspace';
export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Child file descriptors carrying data into bwrap (stdin/stdout/stderr are 0–2). */
export const SANDBOX_FDS = Object.freeze({ passwd: 3, group: 4, seccomp: 5 });

const SANDBOX_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_ID = 0xfffffffe;

/** Environment every exec starts from (then spec.env, then req.env). */
export function defaultEnv(): Record<string, string> {
  return {
    PATH: SANDBOX_PATH,
    HOME: SANDBOX_HOME,
    USER: SANDBOX_USER,
    LOGNAME: SANDBOX_USER,
    SHELL: '/bin/bash',
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    TMPDIR: '/tmp',
    HOSTNAME: SANDBOX_HOSTNAME,
  };
}

export function validateSpec(spec: SandboxSpec): void {
  const fail = (msg: string): never => {
    throw new RunnerError('INVALID_SPEC', msg);
  };
  if (!SANDBOX_ID_RE.test(spec.sandboxId) || spec.sandboxId === '.' || spec.sandboxId === '..') {
    fail(`sandboxId ${JSON.stringify(spec.sandboxId)} must match [A-Za-z0-9_.-]{1,64}`);
  }
  if (!spec.workspaceDir.startsWith('/') || spec.workspaceDir.includes('\0')) {
    fail(`workspaceDir must be an absolute host path, got ${JSON.stringify(spec.workspaceDir)}`);
  }
  for (const [name, id] of [
    ['uid', spec.uid],
    ['gid', spec.gid],
  ] as const) {
    if (!Number.isInteger(id) || id <= 0 || id > MAX_ID) {
      fail(
        `${name} must be a non-root host id in 1..${MAX_ID}, got ${id}; sandboxes never run as root`,
      );
    }
  }
  if (spec.network !== 'none' && spec.network !== 'host') {
    fail(`network must be 'none' or 'host', got ${JSON.stringify(spec.network)}`);
  }
  const { memoryBytes, cpuMillicores, pids, outputBytes } = spec.limits;
  for (const [name, v] of Object.entries({ memoryBytes, cpuMillicores, pids, outputBytes })) {
    if (!Number.isSafeInteger(v) || v <= 0)
      fail(`limits.${name} must be a positive integer, got ${v}`);
  }
  if (memoryBytes < 4 * 1024 * 1024)
    fail(`limits.memoryBytes must be at least 4 MiB, got ${memoryBytes}`);
  if (pids < 4) fail(`limits.pids must be at least 4 (bwrap itself needs some), got ${pids}`);
}

/** Default env < spec.env < req.env; names and values checked (no '=' in names, no NUL anywhere). */
export function mergeEnv(spec: SandboxSpec, req: Pick<ExecRequest, 'env'>): Record<string, string> {
  const env: Record<string, string> = { ...defaultEnv(), ...spec.env, ...req.env };
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_NAME_RE.test(k)) {
      throw new RunnerError(
        'INVALID_REQUEST',
        `environment name ${JSON.stringify(k)} is not a valid name`,
      );
    }
    if (typeof v !== 'string' || v.includes('\0')) {
      throw new RunnerError(
        'INVALID_REQUEST',
        `environment value of ${k} must be a string without NUL`,
      );
    }
  }
  return env;
}

export function validateRequest(req: ExecRequest): void {
  if (req.argv.length === 0 || req.argv[0] === '') {
    throw new RunnerError(
      'INVALID_REQUEST',
      'argv must name a command; for a shell line pass ["bash", "-lc", cmd]',
    );
  }
  for (const a of req.argv) {
    if (typeof a !== 'string' || a.includes('\0')) {
      throw new RunnerError('INVALID_REQUEST', 'argv entries must be strings without NUL bytes');
    }
  }
  if (req.cwd !== undefined && (!req.cwd.startsWith('/') || req.cwd.includes('\0'))) {
    throw new RunnerError(
      'INVALID_REQUEST',
      `cwd must be an absolute path inside the sandbox, got ${JSON.stringify(req.cwd)}`,
    );
  }
}

/** The setpriv prefix: become the sandbox uid/gid with no supplementary groups and no capabilities. */
export function setprivArgs(spec: SandboxSpec, layout: RootLayout): string[] {
  return [
    layout.setprivPath,
    `--reuid=${spec.uid}`,
    `--regid=${spec.gid}`,
    '--clear-groups',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--',
  ];
}

/**
 * bwrap's own flags (without the command). `env` is the command's whole environment (default: the
 * merged one; a standby passes only what its stub needs).
 */
export function bwrapFlags(
  spec: SandboxSpec,
  req: Pick<ExecRequest, 'cwd' | 'env' | 'newSession'>,
  layout: RootLayout,
  env: Readonly<Record<string, string>> = mergeEnv(spec, req),
): string[] {
  const args: string[] = [
    '--unshare-user',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup',
  ];
  if (spec.network === 'none') args.push('--unshare-net');
  // A nested user namespace could regain capabilities over its own mounts; forbid creating one.
  args.push('--disable-userns', '--assert-userns-disabled');
  if (req.newSession ?? true) args.push('--new-session');
  args.push('--die-with-parent', '--cap-drop', 'ALL', '--hostname', SANDBOX_HOSTNAME);

  for (const entry of layout.roots) {
    if (entry.kind === 'dir') args.push('--ro-bind', entry.path, entry.path);
    else args.push('--symlink', entry.target, entry.path);
  }
  if (layout.etcDir !== undefined) args.push('--ro-bind', layout.etcDir, '/etc');
  else for (const p of layout.etc) args.push('--ro-bind-try', p, p);
  args.push(
    '--ro-bind-data',
    String(SANDBOX_FDS.passwd),
    '/etc/passwd',
    '--ro-bind-data',
    String(SANDBOX_FDS.group),
    '/etc/group',
  );
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/dev/shm');
  args.push('--bind', spec.workspaceDir, WORKSPACE, '--chdir', req.cwd ?? WORKSPACE);
  // bwrap's root and /dev are tmpfs it built; once everything is mounted they become read-only so
  // the only writable places are /workspace, /tmp and /dev/shm (non-recursive remounts).
  args.push('--remount-ro', '/dev', '--remount-ro', '/');

  args.push('--clearenv');
  for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v);

  if (spec.strict) args.push('--seccomp', String(SANDBOX_FDS.seccomp));
  return args;
}

/**
 * The complete argument vector, starting with the setpriv executable:
 * `[setpriv, …, '--', bwrap, …flags, '--', …req.argv]`. Throws RunnerError on an invalid spec or
 * request. `layout` defaults to the running host's (a few lstat calls).
 */
export function buildBwrapArgs(spec: SandboxSpec, req: ExecRequest, layout?: RootLayout): string[] {
  validateSpec(spec);
  validateRequest(req);
  const l = layout ?? detectRootLayout();
  return [...setprivArgs(spec, l), l.bwrapPath, ...bwrapFlags(spec, req, l), '--', ...req.argv];
}

/** What to write to each extra fd the argv refers to, keyed by child fd number. */
export function sandboxFdPayloads(
  spec: SandboxSpec,
  seccompProgram: Uint8Array | null,
): ReadonlyMap<number, Uint8Array> {
  const enc = new TextEncoder();
  const m = new Map<number, Uint8Array>([
    [SANDBOX_FDS.passwd, enc.encode(passwdFile(spec))],
    [SANDBOX_FDS.group, enc.encode(groupFile(spec))],
  ]);
  if (spec.strict) {
    if (!seccompProgram) {
      throw new RunnerError(
        'INVALID_SPEC',
        'strict mode needs the compiled seccomp program (see seccomp/filter.ts)',
      );
    }
    m.set(SANDBOX_FDS.seccomp, seccompProgram);
  }
  return m;
}
