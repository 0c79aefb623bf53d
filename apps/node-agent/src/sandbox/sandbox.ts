// A sandbox as a user sees it: a codebase seen through the permission filesystem, commands run
// in bubblewrap at /workspace, and the delta committed when each exec ends.
//
//   exec: prepareExec (remount if another sandbox committed, health check: fail closed) →
//         runner.exec → … command ends … → afterExec (denials flushed, is the delta clean?) →
//         if this was the last running exec and the commit policy says so and the delta holds
//         something: quiesce the mount → commitDelta → resetDelta → tell the codebase's other
//         mounts which paths changed.
import fsp from 'node:fs/promises';
import path from 'node:path';
import {
  commitDelta,
  shouldCommit,
  type CommitMode,
  type CommitPolicy,
  type CommitQueue,
  type CommitResult,
} from '../commit/index.ts';
import { discardDelta } from '../delta/clear.ts';
import { mountSandboxFs, type DenialEvent, type SandboxFs } from '../fs/index.ts';
import type { FsHostPool } from '../fs/host/pool.ts';
import type { ExecOptions, ExecResult, RunnerContext, RunningExec } from '../runner/runner.ts';
import { SandboxRunner } from '../runner/runner.ts';
import { sandboxSpec, type ExecRequest, type SandboxSpecInput } from '../runner/spec.ts';
import type { SandboxHandle } from '../session/sandbox-process.ts';
import type { CodebaseHub } from './codebase-hub.ts';
import { SandboxError } from './errors.ts';

/** What a node agent shares between its sandboxes (one of each per node agent, no globals). */
export interface NodeContext extends RunnerContext {
  readonly hub: CodebaseHub;
  readonly commits: CommitQueue;
  /** Journals and locks of codebases (see commitDelta). */
  readonly stateDir: string;
  /** Pre-started fs hosts (optional; without it each mount forks its host). */
  readonly fsHosts?: FsHostPool;
}

export interface SandboxOptions {
  readonly sandboxId: string;
  /** The codebase directory (absolute). */
  readonly codebaseDir: string;
  /** This sandbox's private directory (absolute): holds `delta/` and the mount point `mnt/`. */
  readonly sandboxDir: string;
  readonly policy: Parameters<typeof mountSandboxFs>[0]['policy'];
  readonly uid: number;
  readonly gid: number;
  readonly network?: SandboxSpecInput['network'];
  readonly strict?: boolean;
  readonly limits?: SandboxSpecInput['limits'];
  readonly env?: SandboxSpecInput['env'];
  /** Delta quota; default 1 GiB. */
  readonly quotaBytes?: number;
  /** When an exec's changes reach the codebase. Default 'always'. */
  readonly commit?: CommitPolicy;
  /** Default 'lww' (last writer wins, conflicts reported). */
  readonly commitMode?: CommitMode;
  readonly onDenial?: (event: DenialEvent) => void;
}

/** What follows an exec (or a session command or handler run) when it ends. */
export interface AfterExec {
  /** The commit that followed; null when none ran (policy, or other execs still running). */
  readonly commit: CommitResult | null;
  /** Why the commit failed (the delta is kept for the next one); null otherwise. */
  readonly commitError: string | null;
  /** Accesses this sandbox was denied while it ran. */
  readonly denials: readonly DenialEvent[];
}

export interface SandboxExecResult extends ExecResult, AfterExec {}

/**
 * One unit of work in the sandbox that is not a plain exec (a session command, a handler run):
 * started with `begin()` (remount if needed, health check), ended with `end(exitCode)` (commit).
 */
export interface ExecTicket {
  end(exitCode: number | null): Promise<AfterExec>;
}

export interface SandboxExec extends Omit<RunningExec, 'result'> {
  readonly result: Promise<SandboxExecResult>;
}

export class Sandbox {
  readonly id: string;
  readonly codebaseDir: string;
  readonly #opts: SandboxOptions;
  readonly #ctx: NodeContext;
  readonly #fs: SandboxFs;
  readonly #runner: SandboxRunner;
  /** How long create() took for the mount and the runner (in parallel), ms; for debug logs. */
  readonly createStages: { readonly mountMs: number; readonly runnerMs: number };
  #running = 0;
  #sessions = 0;
  /** The fs host's remount count at the last check (see #prepare). */
  #remounts = 0;
  #closed = false;

  private constructor(
    opts: SandboxOptions,
    ctx: NodeContext,
    fs: SandboxFs,
    runner: SandboxRunner,
    createStages: Sandbox['createStages'],
  ) {
    this.createStages = createStages;
    this.id = opts.sandboxId;
    this.codebaseDir = opts.codebaseDir;
    this.#opts = opts;
    this.#ctx = ctx;
    this.#fs = fs;
    this.#runner = runner;
  }

  get deltaDir(): string {
    return path.join(this.#opts.sandboxDir, 'delta');
  }

  /**
   * Mounts the permission filesystem and opens the runner (cgroup with limits, standby wrappers)
   * at the same time: neither needs the other until the first exec. If either fails, the other is
   * undone.
   */
  static async create(opts: SandboxOptions, ctx: NodeContext): Promise<Sandbox> {
    // A premounted pool host brings its mount point (under the pool's directory, not the
    // sandbox's: see FsHostPool); it is known at once, so the runner opens beside the mount.
    const t0 = performance.now();
    const stages = { mountMs: 0, runnerMs: 0 };
    const lease = ctx.fsHosts?.lease();
    const mountPoint = lease?.mountPoint ?? path.join(opts.sandboxDir, 'mnt');
    if (lease?.mountPoint == null) {
      try {
        await fsp.mkdir(mountPoint, { recursive: true });
      } catch (err) {
        lease?.child.kill('SIGKILL');
        lease?.release();
        throw err;
      }
    }
    const mounting = mountSandboxFs({
      sandboxId: opts.sandboxId,
      sourceDir: opts.codebaseDir,
      deltaDir: path.join(opts.sandboxDir, 'delta'),
      mountPoint,
      policy: opts.policy,
      ownerUid: opts.uid,
      ownerGid: opts.gid,
      ...(opts.quotaBytes === undefined ? {} : { quotaBytes: opts.quotaBytes }),
      ...(opts.onDenial === undefined ? {} : { onDenial: opts.onDenial }),
      ...(lease === undefined ? {} : { host: lease }),
    });
    const opening = (async () => {
      const spec = sandboxSpec({
        sandboxId: opts.sandboxId,
        workspaceDir: mountPoint,
        uid: opts.uid,
        gid: opts.gid,
        ...(opts.network === undefined ? {} : { network: opts.network }),
        ...(opts.strict === undefined ? {} : { strict: opts.strict }),
        ...(opts.limits === undefined ? {} : { limits: opts.limits }),
        ...(opts.env === undefined ? {} : { env: opts.env }),
      });
      // The mount (which fails closed) vouches for the workspace; a stat through a premounted
      // mount before its host is configured would fail. Standbys bind the workspace as it is
      // when they are made: the first is started once the mount is up.
      return SandboxRunner.open(spec, ctx, { checkWorkspace: false, startStandbys: false });
    })();
    const [fs, runner] = await Promise.allSettled([
      mounting.finally(() => (stages.mountMs = performance.now() - t0)),
      opening.finally(() => (stages.runnerMs = performance.now() - t0)),
    ]);
    if (fs.status === 'fulfilled' && runner.status === 'fulfilled') {
      runner.value.startStandbys();
      ctx.hub.add(opts.codebaseDir, fs.value);
      return new Sandbox(opts, ctx, fs.value, runner.value, stages);
    }
    if (runner.status === 'fulfilled') await runner.value.close().catch(() => undefined);
    if (fs.status === 'fulfilled') await fs.value.unmount();
    throw fs.status === 'rejected' ? fs.reason : (runner as PromiseRejectedResult).reason;
  }

  /**
   * Before any work: applies pending invalidations (a remount) unless a session is open — a
   * remount would cut the mount under its long-lived shell, so while sessions are open other
   * sandboxes' commits are seen after the kernel cache TTL (1 s) instead. Then a health check:
   * an unhealthy mount refuses the work (fail closed). Both cost no round trip to the fs host
   * when nothing changed since the last check (see SandboxFs.prepareExec).
   */
  async #prepare(): Promise<void> {
    if (this.#closed)
      throw new SandboxError('CLOSED', `sandbox ${this.id} is destroyed; create a new one`);
    const health = await this.#fs.prepareExec({ remount: this.#sessions === 0 });
    if (health.remounts !== undefined && health.remounts !== this.#remounts) {
      // The runner's standbys bound the old mount; the exec must see the new one.
      this.#remounts = health.remounts;
      this.#runner.refreshStandbys();
    }
    if (!health.ok) {
      throw new SandboxError(
        'MOUNT_UNHEALTHY',
        `the permission filesystem of sandbox ${this.id} is unhealthy (${health.reason ?? 'unknown'}); refusing to run — destroy and recreate the sandbox`,
      );
    }
  }

  /**
   * Commits when the last running unit ends and the policy says so; collects denials. One round
   * trip to the fs host flushes the denials and says whether the delta holds anything; an empty
   * one is settled without the quiesce → commit → resetDelta sequence (same result as committing it).
   */
  async #finish(startedAt: number, exitCode: number | null): Promise<AfterExec> {
    this.#running--;
    let commit: CommitResult | null = null;
    let commitError: string | null = null;
    const wantCommit =
      this.#running === 0 && !this.#closed && shouldCommit(this.#opts.commit ?? 'always', exitCode);
    const after = await this.#fs.afterExec({ commit: wantCommit }).catch(() => null);
    if (wantCommit) {
      if (after?.clean) {
        commit = { committed: true, added: [], modified: [], deleted: [], conflicts: [] };
      } else {
        try {
          commit = await this.commit();
        } catch (err) {
          commitError = (err as Error).message;
        }
      }
    }
    const denials = this.#fs.denials().filter((d) => d.at >= startedAt);
    return { commit, commitError, denials };
  }

  async begin(): Promise<ExecTicket> {
    await this.#prepare();
    const startedAt = Date.now();
    this.#running++;
    let ended = false;
    return {
      end: (exitCode) => {
        if (ended) throw new SandboxError('INVALID_OPTIONS', 'an exec ticket ends once');
        ended = true;
        return this.#finish(startedAt, exitCode);
      },
    };
  }

  async exec(req: ExecRequest, opts: ExecOptions = {}): Promise<SandboxExec> {
    await this.#prepare();
    const startedAt = Date.now();
    this.#running++;
    let running: RunningExec;
    try {
      running = await this.#runner.exec(req, opts);
    } catch (err) {
      this.#running--;
      throw err;
    }
    const result = running.result.then(async (r) => ({
      ...r,
      ...(await this.#finish(startedAt, r.exitCode)),
    }));
    return {
      execId: running.execId,
      pid: running.pid,
      stdin: running.stdin,
      result,
      cancel: () => running.cancel(),
      pids: () => running.pids(),
      drain: () => running.drain(),
      [Symbol.asyncIterator]: () => running[Symbol.asyncIterator](),
    };
  }

  /** What sessions and handlers run on (openSession / runHandler). */
  get handle(): SandboxHandle {
    return {
      spec: this.#runner.spec,
      cgroup: this.#runner.cgroup,
      seccompProgram: this.#runner.seccompProgram,
      layout: this.#ctx.host.layout,
    };
  }

  /** Counts open sessions (see #prepare: no remounts while a session's shell holds the mount). */
  sessionOpened(): void {
    this.#sessions++;
  }

  sessionClosed(): void {
    this.#sessions = Math.max(0, this.#sessions - 1);
  }

  get runningCount(): number {
    return this.#running;
  }

  /**
   * Commits the delta now (also what `exec` does when an exec ends). The mount is paused while
   * the committer reads the delta, so nothing half-written is committed.
   */
  async commit(): Promise<CommitResult> {
    await this.#fs.quiesce();
    let result: CommitResult;
    try {
      result = await commitDelta({
        codebaseDir: this.codebaseDir,
        deltaDir: this.deltaDir,
        stateDir: this.#ctx.stateDir,
        mode: this.#opts.commitMode ?? 'lww',
        queue: this.#ctx.commits,
      });
    } catch (err) {
      await this.#fs.resume();
      throw new SandboxError(
        'COMMIT_FAILED',
        `commit of sandbox ${this.id} failed: ${(err as Error).message}; the delta is kept`,
        { cause: err },
      );
    }
    if (result.committed) {
      await this.#fs.resetDelta();
      await this.#ctx.hub.changed(this.codebaseDir, this.#fs, [
        ...result.added,
        ...result.modified,
        ...result.deleted,
      ]);
    } else {
      await this.#fs.resume();
    }
    return result;
  }

  /** Throws away uncommitted changes. */
  async discard(): Promise<void> {
    await this.#fs.quiesce();
    try {
      await discardDelta(this.deltaDir);
    } finally {
      await this.#fs.resetDelta();
    }
  }

  denials(): readonly DenialEvent[] {
    return this.#fs.denials();
  }

  /** Stops every process, unmounts, removes the cgroup. Uncommitted changes stay in the delta dir. */
  async destroy(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#ctx.hub.delete(this.codebaseDir, this.#fs);
    await this.#runner.close();
    await this.#fs.unmount();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}
