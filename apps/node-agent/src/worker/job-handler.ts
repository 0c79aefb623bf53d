import { PolicyError } from '@cordon/policy';
import {
  redisKeys,
  type ErrorInfo,
  type NodeJob,
  type SandboxCreateJob,
  type SandboxDestroyJob,
  type SessionCloseJob,
  type SessionOpenJob,
} from '@cordon/protocol';
import type { Logger } from 'pino';
import { CodebaseJobs } from './codebase-jobs.ts';
import { errorInfoOf, type WorkerError } from './errors.ts';
import { ExecJobs, type HeldSession } from './exec-jobs.ts';
import type { NodeState } from './node-state.ts';
import type { OutputLinks } from './output-link.ts';
import { PtyJobs, type HeldTerminal } from './pty-jobs.ts';
import type { HeldSandbox, NodeRuntime } from './runtime.ts';
import { openSession } from '../session/index.ts';

export interface JobHandlerOptions {
  readonly state: NodeState;
  readonly runtime: NodeRuntime;
  readonly links: OutputLinks;
  /** How long to wait for the gateway to store an exec's outcome before writing it directly. */
  readonly exitAckTimeoutMs: number;
  /** Presented to the gateway's transfer endpoint (tar upload/export). */
  readonly clusterToken: string;
  readonly log: Logger;
}

/** Runs the jobs of one node: its own codebases, sandboxes, sessions and execs, nothing else. */
export class JobHandler {
  readonly #o: JobHandlerOptions;
  readonly #sessions = new Map<string, HeldSession>();
  readonly #terminals = new Map<string, HeldTerminal>();
  readonly #execs: ExecJobs;
  readonly #ptys: PtyJobs;
  readonly #codebases: CodebaseJobs;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(o: JobHandlerOptions) {
    this.#o = o;
    this.#execs = new ExecJobs({
      ...o,
      sessions: this.#sessions,
      held: (id, t) => this.#held(id, t),
    });
    this.#codebases = new CodebaseJobs(o);
    this.#ptys = new PtyJobs({
      ...o,
      execs: this.#execs,
      terminals: this.#terminals,
      held: (id, t) => this.#held(id, t),
    });
  }

  get runningCount(): number {
    return this.#execs.runningCount;
  }

  /** A cancel request from a gateway (pub/sub): kill the exec if it runs here. */
  cancel(execId: string): void {
    this.#execs.cancel(execId);
  }

  abortAll(reason?: WorkerError): void {
    this.#execs.abortAll(reason);
  }

  async handle(job: NodeJob): Promise<void> {
    const log = this.#o.log.child({ requestId: job.requestId, kind: job.kind });
    switch (job.kind) {
      case 'codebase.create':
      case 'codebase.upload':
      case 'codebase.export':
      case 'codebase.delete':
        return this.#codebases.handle(job, log);
      case 'sandbox.create':
        return this.#create(job, log);
      case 'sandbox.destroy':
        return this.#destroy(job, log);
      case 'exec':
        return this.#execs.exec(job, log);
      case 'session.exec':
        return this.#execs.sessionExec(job, log);
      case 'handler':
        return this.#execs.handler(job, log);
      case 'session.open':
        return this.#openSession(job, log);
      case 'session.pty':
        return this.#ptys.open(job, log);
      case 'session.close':
        return this.#closeSession(job, log);
    }
  }

  /** The sandbox if this node holds it for this tenant; an ErrorInfo to record otherwise. */
  #held(sandboxId: string, tenantId: string): HeldSandbox | ErrorInfo {
    const held = this.#o.runtime.get(sandboxId);
    if (!held || held.spec.tenantId !== tenantId) {
      return {
        code: 'NOT_FOUND',
        message: `sandbox ${sandboxId} is not held by node ${this.#o.state.nodeId} (it was destroyed, or the node could not recover it); create a new sandbox`,
      };
    }
    return held;
  }

  async #create(job: SandboxCreateJob, log: Logger): Promise<void> {
    const { runtime, state } = this.#o;
    const t0 = performance.now();
    let held: HeldSandbox;
    try {
      if (job.scratch) await runtime.codebases.createEmpty(job.codebaseId);
      held = await runtime.open({
        sandboxId: job.sandboxId,
        tenantId: job.tenantId,
        codebaseId: job.codebaseId,
        scratch: job.scratch,
        policy: job.policy,
        limits: job.limits,
        network: job.network,
        strict: job.strict,
        idleTimeoutMs: job.idleTimeoutMs,
        commit: job.commit,
        commitMode: job.commitMode,
        quotaBytes: job.quotaBytes,
      });
    } catch (err) {
      const info: ErrorInfo =
        err instanceof PolicyError
          ? { code: 'CONFLICT', message: err.message }
          : errorInfoOf(err, 'sandbox creation');
      log.warn({ sandboxId: job.sandboxId, err }, 'sandbox creation failed');
      await runtime.destroy(job.sandboxId).catch(() => undefined);
      if (job.scratch) await runtime.codebases.delete(job.codebaseId).catch(() => undefined);
      await state.sandbox(job.sandboxId, 'creating', 'failed', info);
      runtime.afterCreate();
      return;
    }
    const opened = performance.now();
    const reported = await state.sandbox(job.sandboxId, 'creating', 'ready', null);
    runtime.afterCreate();
    const r = (ms: number) => Math.round(ms * 10) / 10;
    log.debug(
      {
        sandboxId: job.sandboxId,
        openMs: r(opened - t0),
        mountMs: r(held.sandbox.createStages.mountMs),
        runnerMs: r(held.sandbox.createStages.runnerMs),
        reportMs: r(performance.now() - opened),
      },
      'create stages',
    );
    if (!reported) {
      // Destroyed (or timed out) while we were creating it: nobody will use it.
      await runtime.destroy(job.sandboxId);
      await state.redis.srem(redisKeys.nodeSandboxes(state.nodeId), job.sandboxId);
      return;
    }
    log.info({ sandboxId: job.sandboxId }, 'sandbox ready');
  }

  async #destroy(job: SandboxDestroyJob, log: Logger): Promise<void> {
    this.#execs.abortSandbox(job.sandboxId);
    for (const [id, s] of [...this.#sessions, ...this.#terminals]) {
      if (s.sandboxId === job.sandboxId) await this.#dropSession(id, 'the sandbox was destroyed');
    }
    await this.#o.runtime.destroy(job.sandboxId);
    if (job.deleteCodebaseId) await this.#o.runtime.codebases.delete(job.deleteCodebaseId);
    await this.#o.state.redis.srem(redisKeys.nodeSandboxes(this.#o.state.nodeId), job.sandboxId);
    log.info({ sandboxId: job.sandboxId }, 'sandbox destroyed');
  }

  async #openSession(job: SessionOpenJob, log: Logger): Promise<void> {
    const { state } = this.#o;
    const held = this.#held(job.sandboxId, job.tenantId);
    if (!('sandbox' in held)) {
      await state.session(job.sessionId, 'opening', 'failed', held);
      return;
    }
    let session;
    try {
      session = await openSession(held.sandbox.handle, {
        idleTimeoutMs: job.idleTimeoutMs,
        env: job.env,
      });
    } catch (err) {
      log.warn({ sessionId: job.sessionId, err }, 'session failed to open');
      await state.session(
        job.sessionId,
        'opening',
        'failed',
        errorInfoOf(err, 'opening the session'),
      );
      return;
    }
    held.sandbox.sessionOpened();
    this.#sessions.set(job.sessionId, {
      session,
      sandboxId: job.sandboxId,
      tenantId: job.tenantId,
      sandbox: held.sandbox,
    });
    void session.closed.then(() =>
      this.#dropSession(job.sessionId, session.closeReason ?? 'closed'),
    );
    await state.redis.sadd(redisKeys.nodeSessions(state.nodeId), job.sessionId);
    if (!(await state.session(job.sessionId, 'opening', 'open', null))) {
      await this.#dropSession(job.sessionId, 'closed while opening');
    }
  }

  async #closeSession(job: SessionCloseJob, log: Logger): Promise<void> {
    await this.#dropSession(job.sessionId, 'closed by sessions.close');
    log.info({ sessionId: job.sessionId }, 'session closed');
  }

  async #dropSession(sessionId: string, reason: string): Promise<void> {
    const t = this.#terminals.get(sessionId);
    if (t) {
      // Its job (pty-jobs.ts) sees the shell exit and records the outcome, commit and state.
      await t.terminal.close().catch(() => undefined);
      this.#o.log.debug({ sessionId, reason }, 'terminal closed');
      return;
    }
    const s = this.#sessions.get(sessionId);
    const { state } = this.#o;
    if (s) {
      this.#sessions.delete(sessionId);
      s.sandbox.sessionClosed();
      await s.session.close().catch(() => undefined);
    }
    await state.session(sessionId, '*', 'closed', null).catch(() => false);
    await state.redis.srem(redisKeys.nodeSessions(state.nodeId), sessionId).catch(() => 0);
    if (s) this.#o.log.debug({ sessionId, reason }, 'session dropped');
  }

  /**
   * Destroys sandboxes idle (no exec, no session) for longer than their idleTimeoutMs, and those
   * destroyed in Redis while this node was cut off (marked lost, then destroyed: the destroy job
   * may have been drained with the node's queue), so they are never resurrected.
   */
  startIdleSweep(periodMs = 1_000): void {
    const sweep = async () => {
      const now = Date.now();
      const { redis, nodeId } = this.#o.state;
      for (const h of this.#o.runtime.held()) {
        const [owner, st] = await redis.hmget(
          redisKeys.sandbox(h.spec.sandboxId),
          'nodeId',
          'state',
        );
        if (this.#o.runtime.get(h.spec.sandboxId) !== h) continue; // destroyed meanwhile
        if (st === 'destroyed' || (st !== null && owner !== nodeId)) {
          await this.#destroy(
            {
              kind: 'sandbox.destroy',
              requestId: 'sweep',
              tenantId: h.spec.tenantId,
              sandboxId: h.spec.sandboxId,
              deleteCodebaseId: null,
            },
            this.#o.log,
          );
          continue;
        }
        if (h.sandbox.runningCount > 0) h.lastActiveMs = now;
        const hasSession = [...this.#sessions.values(), ...this.#terminals.values()].some(
          (s) => s.sandboxId === h.spec.sandboxId,
        );
        if (hasSession) h.lastActiveMs = now;
        const idle = h.spec.idleTimeoutMs;
        if (idle === null || now - h.lastActiveMs < idle) continue;
        const won = await this.#o.state.sandbox(h.spec.sandboxId, 'ready', 'destroyed', {
          code: 'TIMEOUT',
          message: `sandbox was idle for ${idle} ms (idleTimeoutMs) and was destroyed; create a new one`,
        });
        if (won) {
          await this.#destroy(
            {
              kind: 'sandbox.destroy',
              requestId: 'idle',
              tenantId: h.spec.tenantId,
              sandboxId: h.spec.sandboxId,
              deleteCodebaseId: null,
            },
            this.#o.log,
          );
        }
      }
    };
    const tick = () => {
      sweep()
        .catch((err: unknown) => this.#o.log.warn({ err }, 'idle sweep failed'))
        .finally(() => {
          if (this.#idleTimer !== undefined) this.#idleTimer = setTimeout(tick, periodMs);
        });
    };
    this.#idleTimer = setTimeout(tick, periodMs);
  }

  async close(): Promise<void> {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    for (const id of [...this.#sessions.keys(), ...this.#terminals.keys()]) {
      await this.#dropSession(id, 'node shutting down');
    }
  }
}
