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
// the cgroups, waits for the argv and execs setpriv → bwrap; the bash waits for it and exits with
// its status. Why each step:
// - Everything of the exec lives in that pid namespace, so when its init (the bash) exits, the
//   kernel kills and reaps all of it — bwrap's own namespace init included, which bwrap's monitor
//   otherwise leaves as a zombie for the host's pid 1 (charged to the sandbox's pids limit until
//   reaped). When the agent sees unshare exit, nothing of the exec is left.
// - Only the subshell joins the exec's leaf; unshare and the bash stay in the agent's cgroup, so
//   a kill of the leaf never hits unshare's direct child. (util-linux 2.38's unshare exits 1 with
//   "sigprocmask unblock failed" instead of dying when its child is SIGKILLed.) A SIGKILLed
//   monitor becomes the bash's status 137, which the runner reads as SIGKILL like any 128+N.
//
// Protocol on the control fd (STANDBY_CONTROL_FD), written once:
//   "<D> <stdin> <N> " then N bytes: every argv entry followed by the delimiter byte D,
// where <stdin> is `i` (read /dev/null) or `p` (keep the stdin pipe). D is a control byte absent
// from every argument (bash word-splits on it with IFS=D — C code, ~0.1 ms for a 130-entry argv,
// where a bash loop over length-prefixed entries took ~2 ms). An argv that contains every
// candidate byte is not encodable; the runner then spawns a wrapper the usual way. EOF instead of
// a message (the standby is discarded) makes the wrapper exit without running anything.
import type { Writable } from 'node:stream';
import { execa } from 'execa';
import type { ExecCgroup } from '../cgroup/types.ts';
import type { RootLayout } from '../host/layout.ts';
import type { SandboxSpec } from './spec.ts';
import {
  CLOSE_INHERITED,
  JOIN_CGROUPS,
  sandboxExecaOptions,
  WRAPPER_FLAGS,
  WRAPPER_SHELL,
  type SandboxSubprocess,
} from './spawn.ts';

/** Child fd of the control socket: the first after the payload fds (passwd 3, group 4, seccomp 5). */
export const STANDBY_CONTROL_FD = 6;

const READ_ARGV =
  `read -r -d ' ' d <&${STANDBY_CONTROL_FD} && read -r -d ' ' s <&${STANDBY_CONTROL_FD} && ` +
  `read -r -d ' ' n <&${STANDBY_CONTROL_FD} && read -r -N "$n" m <&${STANDBY_CONTROL_FD} || exit 0; ` +
  `exec ${STANDBY_CONTROL_FD}<&-; ` +
  `if [ "$s" = i ]; then exec 0</dev/null; fi; ` +
  `set -f; IFS=$d; set -- $m; exec "$@"`;

/**
 * Run by the bash that is pid 1 of the exec's pid namespace: closes inherited fds >= 10, then a
 * subshell joins the cgroups named in its arguments ("<procs files…> --"), waits for the argv and
 * execs it; the bash exits with the subshell's status.
 */
export const STANDBY_SCRIPT =
  // The bash's own stderr goes to /dev/null (it would report a killed subshell as "Killed");
  // the subshell gets the real one back on fd 2 (kept on fd 8 meanwhile).
  `${CLOSE_INHERITED}exec 8>&2 2>/dev/null; ` +
  `( exec 2>&8 8>&-; ${JOIN_CGROUPS}${READ_ARGV} ); exit $?`;

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
 * The argv of a standby (pure): setpriv --pdeathsig → unshare --pid → bash STANDBY_SCRIPT with the
 * cgroup files as arguments (never in the script).
 */
export function standbyArgv(
  procsFiles: readonly string[],
  layout: Pick<RootLayout, 'setprivPath' | 'unsharePath'>,
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
  ];
}

/**
 * The control message handing `argv` to a standby (pure), or null when every candidate delimiter
 * occurs in the argv (the caller then spawns normally). Entries must be NUL-free (validated by
 * buildBwrapArgs).
 */
export function standbyMessage(argv: readonly string[], stdin: 'ignore' | 'pipe'): Buffer | null {
  const used = new Set<number>();
  for (const a of argv) {
    for (let i = 0; i < a.length; i++) {
      const c = a.charCodeAt(i);
      if (c < 0x20) used.add(c);
    }
  }
  const d = DELIMITERS.find((c) => !used.has(c));
  if (d === undefined || argv.length === 0) return null;
  const sep = String.fromCharCode(d);
  const body = Buffer.from(argv.join(sep) + sep, 'utf8');
  const head = Buffer.from(`${sep} ${stdin === 'pipe' ? 'p' : 'i'} ${body.length} `, 'utf8');
  return Buffer.concat([head, body]);
}

/** A spawned standby wrapper in its own exec leaf. Single use: start() or discard(). */
export class Standby {
  readonly execId: string;
  readonly leaf: ExecCgroup;
  readonly subprocess: SandboxSubprocess;
  #used = false;

  private constructor(execId: string, leaf: ExecCgroup, subprocess: SandboxSubprocess) {
    this.execId = execId;
    this.leaf = leaf;
    this.subprocess = subprocess;
  }

  /** Spawns the wrapper into `leaf` (it joins asynchronously; start() may come before it has). */
  static spawn(
    execId: string,
    leaf: ExecCgroup,
    spec: SandboxSpec,
    seccompProgram: Uint8Array | undefined,
    layout: Pick<RootLayout, 'setprivPath' | 'unsharePath'>,
  ): Standby {
    // stdin is always a pipe here (the exec decides later); the wrapper swaps in /dev/null for 'i'.
    const options = sandboxExecaOptions(spec, seccompProgram, 'pipe', ['pipe']);
    const [file, ...args] = standbyArgv(leaf.procsFiles, layout);
    const sub = execa(file as string, args, options);
    // Errors surface through the exit status; nothing here may reject or emit unhandled.
    sub.catch(() => undefined);
    sub.stdin?.on('error', () => undefined);
    sub.stdio[STANDBY_CONTROL_FD]?.on('error', () => undefined);
    return new Standby(execId, leaf, sub);
  }

  /** The wrapper has not exited (as far as Node has seen) and was not used. */
  get usable(): boolean {
    const child = this.subprocess.nodeChildProcess;
    return (
      !this.#used &&
      child.pid !== undefined &&
      child.exitCode === null &&
      child.signalCode === null &&
      this.subprocess.stdio[STANDBY_CONTROL_FD] !== undefined
    );
  }

  /** The agent's end of the control socket (a duplex socket; execa types extra fds loosely). */
  #control(): Writable | undefined {
    return this.subprocess.stdio[STANDBY_CONTROL_FD] as Writable | undefined;
  }

  /** Hands over the argv (a standbyMessage); the standby is then the exec's. */
  start(message: Buffer, stdin: 'ignore' | 'pipe'): void {
    this.#used = true;
    this.#control()?.end(message);
    if (stdin === 'ignore') this.subprocess.stdin?.destroy();
  }

  /** Ends an unused standby: EOF on the control socket, then its leaf is emptied and removed. */
  async discard(): Promise<void> {
    this.#used = true;
    this.#control()?.destroy();
    this.subprocess.stdin?.destroy();
    this.subprocess.stdout?.destroy();
    this.subprocess.stderr?.destroy();
    await this.leaf.remove();
  }
}
