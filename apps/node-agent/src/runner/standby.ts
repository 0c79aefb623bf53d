// A standby wrapper: the cgroup-joining wrapper of the *next* exec, spawned ahead of time, already
// in that exec's fresh cgroup leaf and blocked reading its argv from a control socket. Taking it
// costs one write of the argv; the join is off the exec's critical path.
//
// Why: a write to cgroup.procs takes the kernel's global cgroup_threadgroup_rwsem for writing, a
// percpu rwsem whose rcu_sync sits idle while nobody migrates tasks. The first migration after a
// quiet spell therefore waits a full RCU grace period in rcu_sync_enter → synchronize_rcu()
// (~7–35 ms measured here, HZ=250); back-to-back migrations within one grace period are cheap.
// A sandbox exec is exactly such an isolated migration. (cgroup's `favordynmods` mount option keeps
// the rcu_sync entered and makes every migration cheap, at a cost to every fork and exit of the
// host: a host setting, not something the agent should flip.) See docs/runner.md.
//
// The chain: setpriv --pdeathsig KILL (dies with the agent) → unshare --pid --fork --kill-child →
// bash as pid 1 of a new pid namespace, which closes inherited fds and forks a subshell that joins
// the cgroups and execs setpriv → bwrap with the sandbox's whole isolation (namespaces, mounts,
// the workspace bind, seccomp) → a stub bash inside the sandbox that waits on its stdin for the
// exec (cwd, environment, argv), then cds and execs the command; the pid-1 bash waits for it and
// exits with its status.
//
// A standby is *primed*: bwrap's set-up (~6 ms of namespace and mount work here, most of an exec
// of `true`, plus the FUSE lookups of binding and entering the workspace) is done before the exec
// exists, so taking one costs a write and an execve (~2 ms). What can differ between two execs of
// a sandbox (argv, cwd, environment, stdin) travels in the message; everything bwrap is given is
// the sandbox's. A standby therefore shows the sandbox as it was mounted when it was made: the
// runner discards its standbys when the sandbox remounts (refreshStandbys).
//
// Why each step:
// - Everything of the exec lives in that pid namespace, so when its init (the bash) exits, the
//   kernel kills and reaps all of it — bwrap's own namespace init included, which bwrap's monitor
//   otherwise leaves as a zombie for the host's pid 1 (charged to the sandbox's pids limit until
//   reaped). When the agent sees unshare exit, nothing of the exec is left.
// - Only the subshell joins the exec's leaf; unshare and the bash stay in the agent's cgroup, so
//   a kill of the leaf never hits unshare's direct child. (util-linux 2.38's unshare exits 1 with
//   "sigprocmask unblock failed" instead of dying when its child is SIGKILLed.) A SIGKILLed
//   monitor becomes the bash's status 137, which the runner reads as SIGKILL like any 128+N.
// - The message comes on stdin, ahead of the command's own input: no extra descriptor reaches
//   the sandbox (bwrap's monitor and init would hold it open for the command's lifetime).
//
// The message, written once at the start of stdin:
//   "<D> <stdin> <N> " then N bytes: cwd, the count of environment entries, the "NAME=value"
//   entries, the argv entries — each followed by the delimiter byte D,
// where <stdin> is `i` (read /dev/null) or `p` (keep the stdin pipe). D is a control byte absent
// from every entry (bash word-splits on it with IFS=D — C code, ~0.1 ms for a 130-entry argv,
// where a bash loop over length-prefixed entries took ~2 ms). EOF instead of a message (the
// standby is discarded) makes the stub exit without running anything.
//
// The command's environment is what bwrap would give it: the entries, then PWD set to the cwd as
// given (bwrap's --chdir does that, overriding an entry). The stub cds before exporting them
// (CDPATH cannot apply), unsets OLDPWD and makes SHLVL an array, which bash cannot export — a
// plain `exec` would otherwise add SHLVL=0. Execs the stub cannot reproduce exactly
// take the plain wrapper (see standbyMessage): entries using every candidate delimiter, and
// environment names bash treats specially (SHLVL, BASH*, RANDOM, UID, …).
import type { ExecCgroup } from '../cgroup/types.ts';
import type { RootLayout } from '../host/layout.ts';
import type { SandboxProcess, SpawnRequest, Spawner } from '../spawner/types.ts';
import { bwrapFlags, setprivArgs } from './bwrap-args.ts';
import type { SandboxSpec } from './spec.ts';
import {
  CLOSE_INHERITED,
  JOIN_CGROUPS,
  payloadsFor,
  WRAPPER_ENV,
  WRAPPER_FLAGS,
  WRAPPER_SHELL,
} from './spawn.ts';

/**
 * The stub inside the sandbox (environment: LC_ALL=C only, so `read -N` counts bytes): reads the
 * message from stdin, then becomes the command. A missing cwd fails like bwrap's --chdir (status
 * 1, bash names the error); a command that cannot be executed gives the shell's 127 / 126.
 */
export const PRIMED_STUB =
  `read -r -d ' ' d && read -r -d ' ' s && read -r -d ' ' n && read -r -N "$n" m || exit 0; ` +
  `if [ "$s" = i ]; then exec 0</dev/null; fi; ` +
  `set -f; IFS=$d; set -- $m; unset IFS d s n m LC_ALL; ` +
  `cd -P -- "$1" || exit 1; unset OLDPWD SHLVL; declare -a SHLVL; ` +
  `if [ "$2" != 0 ]; then export -- "\${@:3:$2}"; fi; export PWD="$1"; shift $(($2 + 2)); ` +
  `exec -- "$@"`;

/**
 * Run by the bash that is pid 1 of the exec's pid namespace: closes inherited fds >= 10, then a
 * subshell joins the cgroups named in its arguments ("<procs files…> --") and execs the rest
 * (setpriv → bwrap → stub); the bash exits with the subshell's status.
 */
export const STANDBY_SCRIPT =
  // The bash's own stderr goes to /dev/null (it would report a killed subshell as "Killed");
  // the subshell gets the real one back on fd 2 (kept on fd 8 meanwhile).
  `${CLOSE_INHERITED}exec 8>&2 2>/dev/null; ` +
  `( exec 2>&8 8>&-; ${JOIN_CGROUPS}exec "$@" ); exit $?`;

/**
 * Processes between the agent and the sandboxed command: unshare (the agent's child), the bash,
 * bwrap's monitor, bwrap's namespace init. Termination spares them (see terminate.ts).
 */
export const STANDBY_SPARED_DEPTH = 3;

/**
 * Candidate delimiters: control bytes that are not IFS whitespace (tab, newline; bash collapses
 * those), not bash's internal quoting bytes (\x01 CTLESC, \x7f CTLNUL), and never part of a
 * multi-byte UTF-8 sequence, so a code unit below 0x20 in a JS string is that byte in its UTF-8.
 */
const DELIMITERS = [
  0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
  0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
];

/**
 * Environment names the stub cannot pass through exactly: bash gives them a meaning of its own
 * (read-only, dynamic or set at exec). Such an exec takes the plain wrapper.
 */
const BASH_SPECIAL = new Set([
  '_',
  'SHLVL',
  'SHELLOPTS',
  'EUID',
  'UID',
  'PPID',
  'GROUPS',
  'DIRSTACK',
  'FUNCNAME',
  'HISTCMD',
  'LINENO',
  'OPTIND',
  'RANDOM',
  'SRANDOM',
  'SECONDS',
  'EPOCHSECONDS',
  'EPOCHREALTIME',
  'COMP_WORDBREAKS',
  'PIPESTATUS',
]);

/** What an exec hands a standby. */
export interface StandbyExec {
  readonly argv: readonly string[];
  /** Absolute path inside the sandbox. */
  readonly cwd: string;
  /** The command's whole environment (names valid, values NUL-free: see mergeEnv). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * The message handing an exec to a standby (pure), or null when the stub cannot reproduce it
 * exactly (see BASH_SPECIAL; or every candidate delimiter occurs in it): the caller then spawns
 * the plain wrapper. Entries must be NUL-free (validated by buildBwrapArgs).
 */
export function standbyMessage(exec: StandbyExec, stdin: 'ignore' | 'pipe'): Buffer | null {
  if (exec.argv.length === 0) return null;
  const env = Object.entries(exec.env);
  if (env.some(([k]) => BASH_SPECIAL.has(k) || k.startsWith('BASH'))) return null;
  const entries = [exec.cwd, String(env.length), ...env.map(([k, v]) => `${k}=${v}`), ...exec.argv];
  const used = new Set<number>();
  for (const a of entries) {
    for (let i = 0; i < a.length; i++) {
      const c = a.charCodeAt(i);
      if (c < 0x20) used.add(c);
    }
  }
  const d = DELIMITERS.find((c) => !used.has(c));
  if (d === undefined) return null;
  const sep = String.fromCharCode(d);
  const body = Buffer.from(entries.join(sep) + sep, 'utf8');
  const head = Buffer.from(`${sep} ${stdin === 'pipe' ? 'p' : 'i'} ${body.length} `, 'utf8');
  return Buffer.concat([head, body]);
}

/**
 * setpriv → bwrap with the sandbox's isolation → the stub (pure). The stub starts in `/` (bwrap's
 * tmpfs root, not the FUSE workspace: an idle standby holds nothing of the mount busy) with only
 * LC_ALL=C; the exec's cwd and environment come with the message.
 */
export function primedSandboxArgv(spec: SandboxSpec, layout: RootLayout): string[] {
  return [
    ...setprivArgs(spec, layout),
    layout.bwrapPath,
    ...bwrapFlags(spec, { cwd: '/' }, layout, { LC_ALL: 'C' }),
    '--',
    WRAPPER_SHELL,
    ...WRAPPER_FLAGS,
    PRIMED_STUB,
    'cordon-exec',
  ];
}

/**
 * The argv of a standby (pure): setpriv --pdeathsig → unshare --pid → bash STANDBY_SCRIPT with the
 * cgroup files and then the sandbox argv as arguments (never in the script).
 */
export function standbyArgv(
  procsFiles: readonly string[],
  layout: Pick<RootLayout, 'setprivPath' | 'unsharePath'>,
  sandboxArgv: readonly string[],
): string[] {
  return [
    layout.setprivPath,
    '--pdeathsig',
    'KILL',
    '--',
    layout.unsharePath ?? '/usr/bin/unshare',
    '--pid',
    '--fork',
    '--kill-child',
    '--',
    WRAPPER_SHELL,
    ...WRAPPER_FLAGS,
    STANDBY_SCRIPT,
    'cordon-exec',
    ...procsFiles,
    '--',
    ...sandboxArgv,
  ];
}

/** A standby's process as data: stdin is a pipe (it carries the message). */
export function standbySpawnRequest(
  spec: SandboxSpec,
  seccompProgram: Uint8Array | undefined,
  layout: RootLayout,
  procsFiles: readonly string[],
): SpawnRequest {
  const [file, ...args] = standbyArgv(procsFiles, layout, primedSandboxArgv(spec, layout));
  return {
    file: file as string,
    args,
    env: WRAPPER_ENV,
    stdin: 'pipe',
    payloads: payloadsFor(spec, seccompProgram),
  };
}

/** A spawned, primed standby in its own exec leaf. Single use: start() or discard(). */
export class Standby {
  readonly execId: string;
  readonly leaf: ExecCgroup;
  readonly process: SandboxProcess;
  /** Which mount of the sandbox it shows (see StandbyPool.refresh). */
  readonly generation: number;
  #used = false;

  private constructor(
    execId: string,
    leaf: ExecCgroup,
    process: SandboxProcess,
    generation: number,
  ) {
    this.execId = execId;
    this.leaf = leaf;
    this.process = process;
    this.generation = generation;
  }

  /** Spawns the standby into `leaf` (it joins asynchronously; start() may come before it has). */
  static async spawn(
    spawner: Spawner,
    execId: string,
    leaf: ExecCgroup,
    request: SpawnRequest,
    generation = 0,
  ): Promise<Standby> {
    return new Standby(execId, leaf, await spawner.spawn(request), generation);
  }

  /** The standby has not exited (as far as we have heard) and was not used. */
  get usable(): boolean {
    return !this.#used && !this.process.hasExited && this.process.stdin?.writable === true;
  }

  /**
   * Hands over the exec (a standbyMessage); the standby is then the exec's. With stdin 'pipe' the
   * caller writes the command's input after it, on the same stream.
   */
  start(message: Buffer, stdin: 'ignore' | 'pipe'): void {
    this.#used = true;
    if (stdin === 'ignore') this.process.stdin?.end(message);
    else this.process.stdin?.write(message);
  }

  /** Ends an unused standby: EOF on its stdin, then its leaf is emptied and removed. */
  async discard(): Promise<void> {
    this.#used = true;
    this.process.stdin?.destroy();
    this.process.stdout.destroy();
    this.process.stderr.destroy();
    await this.leaf.remove();
  }
}
