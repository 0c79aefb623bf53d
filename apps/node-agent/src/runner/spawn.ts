// Spawning a sandboxed process: the bwrap argv from bwrap-args.ts behind a tiny /bin/sh wrapper
// that moves itself into the exec's cgroup(s) and only then execs setpriv → bwrap.
//
// Why a wrapper: the process must be inside its cgroup before bwrap forks anything, otherwise early
// children escape the limits and the kill. Node cannot fork-without-exec or spawn a stopped child,
// and writing the pid after spawn races with bwrap's first fork. `sh` writes `$$` (its own pid,
// which exec keeps) into each cgroup.procs and execs; cgroup paths and argv are passed as
// arguments, never interpolated. If joining fails the wrapper exits 125 before running anything.
import type { ExecCgroup } from '../cgroup/types.ts';
import type { RootLayout } from '../host/layout.ts';
import { compileSeccompFilter } from '../seccomp/filter.ts';
import type { SpawnRequest } from '../spawner/types.ts';
import { buildBwrapArgs, SANDBOX_FDS, sandboxFdPayloads } from './bwrap-args.ts';
import type { ExecRequest, SandboxSpec } from './spec.ts';

export const JOIN_FAILED_EXIT = 125;
// bash, not sh: dash cannot name descriptors above 9, and the wrapper must close them. `-p` keeps
// bash from sourcing $BASH_ENV or importing functions; `--norc` from sourcing ~/.bashrc, which
// Debian's bash does when stdin is a socket (as Node's stdin pipes are) — it takes it for sshd.
export const WRAPPER_SHELL = '/bin/bash';
export const WRAPPER_FLAGS = ['--norc', '-p', '-c'] as const;

/**
 * Descriptors the node agent inherited without close-on-exec (from whatever started it) would
 * otherwise reach the sandbox, and an open descriptor grants access whatever the uid. The wrapper
 * closes every descriptor from 10 up; 0-9 are stdio, payloads and the session's channels, all
 * set up by us. The names come from /proc, so they are digits only. /proc/self, not /proc/$$: in a
 * pid namespace (the standby wrapper) $$ is not the host pid the mounted /proc knows.
 */
export const CLOSE_INHERITED =
  'for f in /proc/self/fd/*; do f=${f##*/}; if [ "$f" -ge 10 ]; then eval "exec $f>&-"; fi; done; ';

/** `echo 0`: the writing process itself, whatever pid namespace it is in (echo is a builtin). */
export const JOIN_CGROUPS =
  'while [ "$1" != -- ]; do echo 0 > "$1" || { echo "cordon: cannot join cgroup $1" >&2; exit 125; }; shift; done; shift; ';

/** The wrapper reads "<procs files…> -- <argv…>"; `$0` names it in ps and error messages. */
export const JOIN_SCRIPT = CLOSE_INHERITED + JOIN_CGROUPS + 'exec "$@"';

/**
 * As JOIN_SCRIPT, then opens the payload files on the fixed fds (for spawners that cannot pass
 * extra fds, e.g. a PTY): "<procs…> -- <passwd> <group> <seccomp|/dev/null> <argv…>".
 */
export const JOIN_SCRIPT_FILES =
  CLOSE_INHERITED +
  JOIN_CGROUPS +
  `exec ${SANDBOX_FDS.passwd}<"$1" ${SANDBOX_FDS.group}<"$2" ${SANDBOX_FDS.seccomp}<"$3"; shift 3; exec "$@"`;

/** The full wrapper argv (pure): [sh, -c, JOIN_SCRIPT, name, …procsFiles, --, setpriv, …, bwrap, …]. */
export function wrapperArgv(
  procsFiles: readonly string[],
  sandboxArgv: readonly string[],
): string[] {
  return [
    WRAPPER_SHELL,
    ...WRAPPER_FLAGS,
    JOIN_SCRIPT,
    'cordon-exec',
    ...procsFiles,
    '--',
    ...sandboxArgv,
  ];
}

/** Wrapper argv whose payloads come from files (see writePayloadFiles in payload-files.ts). */
export function wrapperArgvWithFiles(
  procsFiles: readonly string[],
  payloadFiles: {
    readonly passwd: string;
    readonly group: string;
    readonly seccomp: string | null;
  },
  sandboxArgv: readonly string[],
): string[] {
  return [
    WRAPPER_SHELL,
    ...WRAPPER_FLAGS,
    JOIN_SCRIPT_FILES,
    'cordon-exec',
    ...procsFiles,
    '--',
    payloadFiles.passwd,
    payloadFiles.group,
    payloadFiles.seccomp ?? '/dev/null',
    ...sandboxArgv,
  ];
}

export interface SandboxSpawnOptions {
  /** The exec's cgroup leaf (from SandboxCgroup.createExec); the process joins it before bwrap runs. */
  readonly cgroup: ExecCgroup;
  /** Host layout from host detection (default: detected now). */
  readonly layout?: RootLayout;
  /** Compiled strict-mode filter; default: compiled for this host when spec.strict. */
  readonly seccompProgram?: Uint8Array;
  /** stdin of the sandboxed command: 'ignore' (default, reads EOF) or 'pipe'. */
  readonly stdin?: 'ignore' | 'pipe';
}

/**
 * The wrapper's environment. The wrapper, setpriv and bwrap need nothing of the agent's; bwrap
 * --clearenv sets the sandbox's own. LC_ALL=C makes bash count bytes, not characters.
 */
export const WRAPPER_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
  LC_ALL: 'C',
});

/** The payload descriptors (passwd, group, seccomp — see SANDBOX_FDS) of a sandbox process. */
export function payloadsFor(
  spec: SandboxSpec,
  seccompProgram: Uint8Array | undefined,
): ReadonlyMap<number, Uint8Array> {
  const seccomp = spec.strict ? (seccompProgram ?? compileSeccompFilter()) : null;
  return sandboxFdPayloads(spec, seccomp);
}

/**
 * The plain wrapper's process as data (pure apart from the layout and seccomp defaults): the
 * wrapper joins the leaf, then execs setpriv → bwrap → `req.argv`. stdout/stderr are pipes the
 * caller must read (not reading them stalls the command — that is the backpressure).
 */
export function sandboxSpawnRequest(
  spec: SandboxSpec,
  req: ExecRequest,
  opts: SandboxSpawnOptions,
): SpawnRequest {
  const sandboxArgv = buildBwrapArgs(spec, req, opts.layout);
  const [file, ...args] = wrapperArgv(opts.cgroup.procsFiles, sandboxArgv);
  return {
    file: file as string,
    args,
    env: WRAPPER_ENV,
    stdin: opts.stdin ?? 'ignore',
    payloads: payloadsFor(spec, opts.seccompProgram),
  };
}
