// One sandbox's runner: owns the sandbox cgroup (limits) and runs execs in it, each in its own
// cgroup leaf, with a wall timeout, cancel, OOM reporting and streamed, capped output.
//
// Life of an exec: take a standby (spawned ahead of time, already in a fresh leaf and inside bwrap
// — see standby.ts) and hand it the exec, or else create a leaf and spawn one now; the standby's
// stub execs the command → stream output → on exit, timeout or cancel: terminate the tree →
// verify through the cgroup that nothing is left → remove the leaf → result. Taking the standby
// starts the next one, so its cgroup join and bwrap set-up overlap the running exec.
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import type { ExecCgroup, SandboxCgroup } from '../cgroup/types.ts';
import { OutputMux } from '../output/mux.ts';
import { compileSeccompFilter } from '../seccomp/filter.ts';
import { mergeEnv, validateRequest, validateSpec, WORKSPACE } from './bwrap-args.ts';
import { RunnerError } from './errors.ts';
import { LocalSpawner } from '../spawner/local.ts';
import type { SandboxProcess, Spawner } from '../spawner/types.ts';
import { DEFAULT_STANDBYS, type RunnerContext, type RunnerOptions } from './runner-options.ts';
import { sandboxSpawnRequest } from './spawn.ts';
import { standbyBudget, StandbyPool } from './standby-pool.ts';
import { Standby, STANDBY_SPARED_DEPTH, standbyMessage, standbySpawnRequest } from './standby.ts';
import type { ExecRequest, SandboxSpec } from './spec.ts';
import { terminateTree } from './terminate.ts';
import {
  decodeExit,
  DEFAULT_KILL_GRACE_MS,
  type ExecOptions,
  type ExecResult,
  type RunningExec,
} from './exec-types.ts';

export { collect } from './collect.ts';
export { DEFAULT_STANDBYS, type RunnerContext, type RunnerOptions } from './runner-options.ts';
export { standbyBudget } from './standby-pool.ts';
export {
  decodeExit,
  DEFAULT_KILL_GRACE_MS,
  type ExecOptions,
  type ExecResult,
  type RunningExec,
} from './exec-types.ts';

export class SandboxRunner {
  readonly spec: SandboxSpec;
  readonly #ctx: RunnerContext;
  readonly #cgroup: SandboxCgroup;
  readonly #seccomp: Uint8Array | undefined;
  readonly #standbys: StandbyPool;
  #seq = 0;
  #closed = false;
  /** The agent's child of every exec not yet finished, for close(). */
  readonly #running = new Set<SandboxProcess>();
  readonly #spawner: Spawner;

  private constructor(
    spec: SandboxSpec,
    ctx: RunnerContext,
    cgroup: SandboxCgroup,
    seccomp: Uint8Array | undefined,
    standbyTarget: number,
  ) {
    this.spec = spec;
    this.#ctx = ctx;
    this.#cgroup = cgroup;
    this.#seccomp = seccomp;
    this.#spawner = ctx.spawner ?? new LocalSpawner();
    this.#standbys = new StandbyPool({
      target: standbyTarget,
      cgroup,
      nextExecId: () => this.#nextExecId(),
      spawn: (execId, leaf, generation) => this.#spawnStandby(execId, leaf, generation),
      idle: () => this.#running.size === 0,
    });
  }

  /**
   * Validates the spec, checks the workspace, creates the sandbox cgroup with its limits and
   * starts the first standby wrapper (in the background).
   */
  static async open(
    spec: SandboxSpec,
    ctx: RunnerContext,
    opts: RunnerOptions = {},
  ): Promise<SandboxRunner> {
    validateSpec(spec);
    let seccomp: Uint8Array | undefined;
    if (spec.strict) seccomp = compileSeccompFilter(ctx.host.seccompArch);
    if (opts.checkWorkspace !== false) {
      const st = await fsp.stat(spec.workspaceDir).catch(() => null);
      if (!st?.isDirectory()) {
        throw new RunnerError(
          'INVALID_SPEC',
          `workspaceDir ${spec.workspaceDir} is not a directory; mount the workspace first`,
        );
      }
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
    const standbys = opts.standbys ?? DEFAULT_STANDBYS;
    if (!Number.isInteger(standbys) || standbys < 0 || standbys > 16)
      throw new RunnerError(
        'INVALID_SPEC',
        `standbys must be an integer in 0..16, got ${standbys}`,
      );
    const runner = new SandboxRunner(
      spec,
      ctx,
      cgroup,
      seccomp,
      Math.min(standbys, standbyBudget(spec.limits)),
    );
    // Waits for the first standby's spawn, not for its cgroup join.
    if (opts.startStandbys === false) return runner;
    if (opts.awaitStandby === false) runner.startStandbys();
    else await runner.#standbys.start();
    return runner;
  }

  /** Starts making standbys in the background (see RunnerOptions.startStandbys). */
  startStandbys(): void {
    void this.#standbys.start();
  }

  #nextExecId(): string {
    return `x${++this.#seq}-${randomBytes(3).toString('hex')}`;
  }

  #spawnStandby(execId: string, leaf: ExecCgroup, generation: number): Promise<Standby> {
    const layout = this.#ctx.host.layout;
    const request = standbySpawnRequest(this.spec, this.#seccomp, layout, leaf.procsFiles);
    return Standby.spawn(this.#spawner, execId, leaf, request, generation);
  }

  /**
   * Discards the standbys made so far: they show the sandbox's mount as it was when their bwrap
   * bound it. The sandbox calls this after it remounted.
   */
  refreshStandbys(): void {
    this.#standbys.refresh();
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
    const stdinMode = opts.stdin ?? 'ignore';
    // Validates before anything is spawned or taken (throws RunnerError).
    validateRequest(req);
    const env = mergeEnv(this.spec, req);
    let execId: string;
    let leaf: ExecCgroup;
    let sub: SandboxProcess;
    // A standby's session is its own (bwrap --new-session): an exec that keeps the caller's
    // (a terminal) takes the plain wrapper, as does one the stub cannot reproduce exactly.
    const message =
      req.newSession === false
        ? null
        : standbyMessage({ argv: req.argv, cwd: req.cwd ?? WORKSPACE, env }, stdinMode);
    const started = performance.now();
    // Processes between the agent and the command (see terminate.ts): with the standby chain
    // unshare → bash → bwrap monitor → bwrap init; with the plain wrapper the monitor and its init.
    let sparedDepth = STANDBY_SPARED_DEPTH;
    let standby = message === null ? null : await this.#standbys.take();
    if (this.#closed) {
      if (standby) await standby.discard();
      throw new RunnerError('INVALID_REQUEST', `sandbox ${this.spec.sandboxId} is closed`);
    }
    if (standby) {
      standby.start(message as Buffer, stdinMode);
      ({ execId, leaf } = standby);
      sub = standby.process;
    } else {
      // No standby (none kept, or gone): the same steps now, the cgroup join and bwrap's set-up
      // then on this exec's critical path. An exec without a message takes the plain wrapper,
      // which passes everything as arguments.
      execId = this.#nextExecId();
      try {
        leaf = await this.#cgroup.createExec(execId);
      } catch (err) {
        throw new RunnerError(
          'CGROUP_FAILED',
          `cannot create the cgroup of exec ${execId}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      try {
        if (message === null) {
          sparedDepth = 1;
          sub = await this.#spawner.spawn(
            sandboxSpawnRequest(this.spec, req, {
              cgroup: leaf,
              layout: this.#ctx.host.layout,
              ...(this.#seccomp ? { seccompProgram: this.#seccomp } : {}),
              stdin: stdinMode,
            }),
          );
        } else {
          standby = await this.#spawnStandby(execId, leaf, -1);
          standby.start(message, stdinMode);
          sub = standby.process;
        }
      } catch (err) {
        await leaf.remove();
        throw err;
      }
    }
    const subprocess = sub;
    this.#running.add(subprocess);

    const mux = new OutputMux(
      { stdout: subprocess.stdout, stderr: subprocess.stderr },
      {
        capBytes: opts.outputBytes ?? this.spec.limits.outputBytes,
        ...(opts.highWaterBytes !== undefined ? { highWaterBytes: opts.highWaterBytes } : {}),
      },
    );

    const exited = subprocess.exited;

    let timedOut = false;
    let canceled = false;
    const termination: { promise: Promise<void> | null } = { promise: null };
    const graceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    const terminate = (): void => {
      termination.promise ??= terminateTree(
        leaf,
        subprocess.pid,
        exited,
        graceMs,
        sparedDepth,
      ).then(() => {
        // The agent's child last: with the standby chain its death takes the exec's whole pid
        // namespace along, including a wrapper that had not even joined the leaf yet.
        subprocess.kill('SIGKILL');
      });
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
      // Empties the leaf (normally it already is: see standby.ts), then reads the OOM counter;
      // the output ends meanwhile.
      const [stats] = await Promise.all([leaf.finish(), mux.ended]);
      return {
        result: {
          ...decodeExit(exit.code, exit.signal),
          timedOut,
          oomKilled: stats.oomKills > 0,
          canceled,
          durationMs,
          ...mux.counts,
        },
        // The leaf is empty (verified above): it goes to the standby pool for a later exec (or
        // is removed), off the result's critical path; close() waits for it.
        cleanup: this.#standbys.recycle(leaf),
      };
    })();
    const result = finished.then((f) => f.result);
    // The next standby is made once this exec is over: its spawn (synchronous in Node) and its
    // processes' start-up would otherwise compete with this exec for the event loop and the CPU.
    // Started before the caller sees the result, so an exec issued right after it waits for this
    // standby (see above) instead of making its own.
    const over = (): void => {
      this.#running.delete(subprocess);
      this.#standbys.execDone();
    };
    void finished.then(over, over);
    const settled = finished.then((f) => f.cleanup).catch(() => leaf.remove());
    void settled.catch(() => undefined);

    return {
      execId,
      pid: subprocess.pid,
      stdin: stdinMode === 'pipe' ? subprocess.stdin : null,
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
    await this.#standbys.close();
    // Each exec's own chain first: killing the agent's child ends its whole pid namespace, even a
    // wrapper that has not joined its leaf yet (it would otherwise fail to join and exit 125).
    for (const sub of this.#running) sub.kill('SIGKILL');
    // Authoritative: kills every exec's processes and removes every leaf. Execs still being
    // consumed resolve their results as their output drains.
    await this.#cgroup.remove();
  }
}
