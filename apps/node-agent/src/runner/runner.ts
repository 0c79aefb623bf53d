// One sandbox's runner: owns the sandbox cgroup (limits) and runs execs in it, each in its own
// cgroup leaf, with a wall timeout, cancel, OOM reporting and streamed, capped output.
//
// Life of an exec: create leaf → spawn wrapper (joins leaf, execs setpriv → bwrap → command) →
// stream output → on exit, timeout or cancel: terminate the tree → verify through the cgroup that
// nothing is left → remove the leaf → result.
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import type { Writable } from 'node:stream';
import type { CgroupDriver, ExecCgroup, SandboxCgroup } from '../cgroup/types.ts';
import type { HostCapabilities } from '../host/detect.ts';
import { OutputMux, type OutputChunk } from '../output/mux.ts';
import { compileSeccompFilter } from '../seccomp/filter.ts';
import { validateSpec } from './bwrap-args.ts';
import { RunnerError } from './errors.ts';
import { spawnSandboxed } from './spawn.ts';
import type { ExecRequest, SandboxSpec } from './spec.ts';
import { terminateTree } from './terminate.ts';

export const DEFAULT_KILL_GRACE_MS = 2000;

export interface ExecOptions {
  /** Wall-clock limit; no timeout when absent. On expiry: SIGTERM, then SIGKILL after the grace. */
  readonly timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL on timeout/cancel. Default 2000 ms. */
  readonly killGraceMs?: number;
  /** Aborting cancels the exec (same termination as a timeout, reported as `canceled`). */
  readonly signal?: AbortSignal;
  /** Output cap for this exec; default the sandbox's limits.outputBytes (64 MiB). */
  readonly outputBytes?: number;
  /** Unconsumed output at which the command's pipes are paused. Default 1 MiB. */
  readonly highWaterBytes?: number;
  /** 'pipe' exposes `stdin` on the running exec; default 'ignore' (the command reads EOF). */
  readonly stdin?: 'ignore' | 'pipe';
}

export interface ExecResult {
  /** The command's exit code, or null when it was ended by a signal. */
  readonly exitCode: number | null;
  /**
   * The signal that ended the command, else null. bwrap reports a signal death as exit status
   * 128+N (as a shell does), so a command that itself exits 137 also reads as SIGKILL.
   */
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** A process of this exec was killed by the OOM killer (memory limit). */
  readonly oomKilled: boolean;
  readonly canceled: boolean;
  readonly durationMs: number;
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
  readonly truncated: boolean;
}

export interface RunningExec extends AsyncIterable<OutputChunk> {
  readonly execId: string;
  /** Host pid of the outermost sandbox process (bwrap), for diagnostics. */
  readonly pid: number | undefined;
  readonly stdin: Writable | null;
  /**
   * Resolves once the command and every process it started are gone and all output was
   * consumed (iterate the exec, or call drain()). Never rejects for a failing command.
   */
  readonly result: Promise<ExecResult>;
  /** Cancels the exec; idempotent. */
  cancel(): void;
  /** Host pids currently in the exec's cgroup (empty once it is over). */
  pids(): Promise<number[]>;
  /** Discards the output (for callers that only need the result). */
  drain(): Promise<void>;
}

export interface RunnerContext {
  readonly host: HostCapabilities;
  readonly cgroups: CgroupDriver;
}

const signalNames = new Map<number, NodeJS.Signals>(
  Object.entries(osConstants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

export function decodeExit(
  code: number | null,
  signal: NodeJS.Signals | null,
): Pick<ExecResult, 'exitCode' | 'signal'> {
  if (signal !== null) return { exitCode: null, signal };
  if (code !== null && code > 128) {
    const name = signalNames.get(code - 128);
    if (name) return { exitCode: null, signal: name };
  }
  return { exitCode: code, signal: null };
}

export class SandboxRunner {
  readonly spec: SandboxSpec;
  readonly #ctx: RunnerContext;
  readonly #cgroup: SandboxCgroup;
  readonly #seccomp: Uint8Array | undefined;
  #seq = 0;
  #closed = false;

  private constructor(
    spec: SandboxSpec,
    ctx: RunnerContext,
    cgroup: SandboxCgroup,
    seccomp: Uint8Array | undefined,
  ) {
    this.spec = spec;
    this.#ctx = ctx;
    this.#cgroup = cgroup;
    this.#seccomp = seccomp;
  }

  /** Validates the spec, checks the workspace, creates the sandbox cgroup with its limits. */
  static async open(spec: SandboxSpec, ctx: RunnerContext): Promise<SandboxRunner> {
    validateSpec(spec);
    let seccomp: Uint8Array | undefined;
    if (spec.strict) seccomp = compileSeccompFilter(ctx.host.seccompArch);
    const st = await fsp.stat(spec.workspaceDir).catch(() => null);
    if (!st?.isDirectory()) {
      throw new RunnerError(
        'INVALID_SPEC',
        `workspaceDir ${spec.workspaceDir} is not a directory; mount the workspace first`,
      );
    }
    let cgroup: SandboxCgroup;
    try {
      cgroup = await ctx.cgroups.openSandbox(spec.sandboxId, spec.limits);
    } catch (err) {
      throw new RunnerError(
        'CGROUP_FAILED',
        `cannot apply the limits of sandbox ${spec.sandboxId}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return new SandboxRunner(spec, ctx, cgroup, seccomp);
  }

  /** The sandbox cgroup, for session code that makes its own leaves. */
  get cgroup(): SandboxCgroup {
    return this.#cgroup;
  }

  get seccompProgram(): Uint8Array | undefined {
    return this.#seccomp;
  }

  async exec(req: ExecRequest, opts: ExecOptions = {}): Promise<RunningExec> {
    if (this.#closed)
      throw new RunnerError('INVALID_REQUEST', `sandbox ${this.spec.sandboxId} is closed`);
    const execId = `x${++this.#seq}-${randomBytes(3).toString('hex')}`;
    let leaf: ExecCgroup;
    try {
      leaf = await this.#cgroup.createExec(execId);
    } catch (err) {
      throw new RunnerError(
        'CGROUP_FAILED',
        `cannot create the cgroup of exec ${execId}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const started = performance.now();
    let sub;
    try {
      sub = spawnSandboxed(this.spec, req, {
        cgroup: leaf,
        layout: this.#ctx.host.layout,
        ...(this.#seccomp ? { seccompProgram: this.#seccomp } : {}),
        stdin: opts.stdin ?? 'ignore',
      });
    } catch (err) {
      await leaf.remove();
      throw err;
    }
    const subprocess = sub;
    // Errors surface through the exit status; execa's own promise must not reject unhandled.
    subprocess.catch(() => undefined);

    const mux = new OutputMux(
      { stdout: subprocess.stdout, stderr: subprocess.stderr },
      {
        capBytes: opts.outputBytes ?? this.spec.limits.outputBytes,
        ...(opts.highWaterBytes !== undefined ? { highWaterBytes: opts.highWaterBytes } : {}),
      },
    );

    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve) => {
        const child = subprocess.nodeChildProcess;
        child.once('exit', (code, signal) => resolve({ code, signal }));
        child.once('error', () => resolve({ code: null, signal: null }));
      },
    );

    let timedOut = false;
    let canceled = false;
    const termination: { promise: Promise<void> | null } = { promise: null };
    const graceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    const terminate = (): void => {
      termination.promise ??= terminateTree(leaf, subprocess.pid, exited, graceMs);
    };
    const timer =
      opts.timeoutMs === undefined
        ? null
        : setTimeout(() => {
            timedOut = true;
            terminate();
          }, opts.timeoutMs);
    const onAbort = (): void => {
      canceled = true;
      terminate();
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });

    const finished = (async (): Promise<{ result: ExecResult; cleanup: Promise<void> }> => {
      const exit = await exited;
      const durationMs = performance.now() - started;
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      // The command is done; whatever it left behind (also holding our pipes open) goes now.
      if (termination.promise) await termination.promise;
      await leaf.killAll();
      const stats = await leaf.stats();
      await mux.ended;
      return {
        result: {
          ...decodeExit(exit.code, exit.signal),
          timedOut,
          oomKilled: stats.oomKills > 0,
          canceled,
          durationMs,
          ...mux.counts,
        },
        // The leaf is empty (verified above); removing it is off the result's critical path,
        // and close() waits for it.
        cleanup: leaf.remove(),
      };
    })();
    const result = finished.then((f) => f.result);
    const settled = finished.then((f) => f.cleanup).catch(() => leaf.remove());
    void settled.catch(() => undefined);

    return {
      execId,
      pid: subprocess.pid,
      stdin: subprocess.stdin,
      result,
      cancel: onAbort,
      pids: () => leaf.pids(),
      drain: () => mux.drain(),
      [Symbol.asyncIterator]: () => mux[Symbol.asyncIterator](),
    };
  }

  /** Kills every process of the sandbox and removes its cgroups. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    // Authoritative: kills every exec's processes and removes every leaf. Execs still being
    // consumed resolve their results as their output drains.
    await this.#cgroup.remove();
  }
}

/** Runs to completion, collecting output (bounded by the cap) — for tests and simple callers. */
export async function collect(
  exec: RunningExec,
): Promise<{ result: ExecResult; stdout: string; stderr: string }> {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  for await (const chunk of exec) (chunk.stream === 'stdout' ? out : err).push(chunk.data);
  const result = await exec.result;
  return {
    result,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
  };
}
