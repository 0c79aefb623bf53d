import { compileCanonical, PolicyError } from '@cordon/policy';
import {
  FINALIZE_EXEC_LUA,
  redisKeys,
  SANDBOX_TRANSITION_LUA,
  START_EXEC_LUA,
  type ErrorInfo,
  type ExecJob,
  type ExecOutcome,
  type NodeJob,
  type SandboxCreateJob,
  type SandboxDestroyJob,
} from '@cordon/protocol';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { errorInfoOf } from './errors.ts';
import type { Executor } from './executor.ts';
import type { OutputLinks } from './output-link.ts';

interface HeldSandbox {
  readonly tenantId: string;
  readonly policyHash: string;
}

interface RunningExec {
  readonly sandboxId: string;
  readonly controller: AbortController;
}

export interface JobHandlerOptions {
  readonly redis: Redis;
  readonly nodeId: string;
  readonly executor: Executor;
  readonly links: OutputLinks;
  readonly execTtlMs: number;
  /** How long to wait for the gateway to store an exec's outcome before writing it directly. */
  readonly exitAckTimeoutMs: number;
  readonly log: Logger;
}

/** Runs the jobs of one node: its own sandboxes and execs, nothing else. */
export class JobHandler {
  readonly #o: JobHandlerOptions;
  readonly #sandboxes = new Map<string, HeldSandbox>();
  readonly #running = new Map<string, RunningExec>();

  constructor(o: JobHandlerOptions) {
    this.#o = o;
  }

  get runningCount(): number {
    return this.#running.size;
  }

  /** A cancel request from a gateway (pub/sub): kill the exec if it runs here. */
  cancel(execId: string): void {
    this.#running.get(execId)?.controller.abort();
  }

  async handle(job: NodeJob): Promise<void> {
    const log = this.#o.log.child({ requestId: job.requestId, kind: job.kind });
    switch (job.kind) {
      case 'sandbox.create':
        return this.#create(job, log);
      case 'sandbox.destroy':
        return this.#destroy(job, log);
      case 'exec':
        return this.#exec(job, log);
    }
  }

  async #transition(sandboxId: string, from: string, to: string, error: ErrorInfo | null) {
    const r = await this.#o.redis.eval(
      SANDBOX_TRANSITION_LUA,
      1,
      redisKeys.sandbox(sandboxId),
      from,
      to,
      error ? JSON.stringify(error) : '',
    );
    return r === 1;
  }

  async #create(job: SandboxCreateJob, log: Logger): Promise<void> {
    let policy;
    try {
      policy = compileCanonical(job.policy.canonical, job.policy.hash);
    } catch (err) {
      const message = err instanceof PolicyError ? err.message : 'policy could not be compiled';
      log.warn({ sandboxId: job.sandboxId, err }, 'refused policy');
      await this.#transition(job.sandboxId, 'creating', 'failed', { code: 'CONFLICT', message });
      return;
    }
    try {
      await this.#o.executor.createSandbox({
        sandboxId: job.sandboxId,
        tenantId: job.tenantId,
        policy,
        limits: job.limits,
        network: job.network,
        strict: job.strict,
        idleTimeoutMs: job.idleTimeoutMs,
      });
    } catch (err) {
      log.error({ sandboxId: job.sandboxId, err }, 'sandbox creation failed');
      await this.#transition(
        job.sandboxId,
        'creating',
        'failed',
        errorInfoOf(err, 'sandbox creation'),
      );
      return;
    }
    this.#sandboxes.set(job.sandboxId, { tenantId: job.tenantId, policyHash: policy.hash });
    if (!(await this.#transition(job.sandboxId, 'creating', 'ready', null))) {
      // Destroyed (or timed out) while we were creating it: nobody will use it.
      await this.#drop(job.sandboxId);
      return;
    }
    log.info({ sandboxId: job.sandboxId }, 'sandbox ready');
  }

  async #destroy(job: SandboxDestroyJob, log: Logger): Promise<void> {
    for (const r of this.#running.values()) {
      if (r.sandboxId === job.sandboxId) r.controller.abort();
    }
    await this.#drop(job.sandboxId);
    log.info({ sandboxId: job.sandboxId }, 'sandbox destroyed');
  }

  async #drop(sandboxId: string): Promise<void> {
    this.#sandboxes.delete(sandboxId);
    await this.#o.executor.destroySandbox(sandboxId);
    await this.#o.redis.srem(redisKeys.nodeSandboxes(this.#o.nodeId), sandboxId);
  }

  /** Writes an outcome straight to Redis (the same compare-and-set the gateway uses). */
  async #finalizeDirect(execId: string, outcome: ExecOutcome): Promise<void> {
    await this.#o.redis.eval(
      FINALIZE_EXEC_LUA,
      3,
      redisKeys.exec(execId),
      redisKeys.execOutput(execId),
      redisKeys.nodeExecs(this.#o.nodeId),
      outcome.status,
      outcome.result ? JSON.stringify(outcome.result) : '',
      outcome.error ? JSON.stringify(outcome.error) : '',
      Date.now(),
      this.#o.execTtlMs,
      execId,
      'any',
    );
  }

  async #exec(job: ExecJob, log: Logger): Promise<void> {
    const { redis, nodeId } = this.#o;
    const claimed = await redis.eval(
      START_EXEC_LUA,
      1,
      redisKeys.exec(job.execId),
      nodeId,
      Date.now(),
    );
    if (claimed !== 1) {
      // Settled already (canceled while queued, or failed NODE_LOST before a restart): never run twice.
      log.info({ execId: job.execId, claimed }, 'exec not claimable; skipped');
      return;
    }
    const held = this.#sandboxes.get(job.sandboxId);
    const refuse = (error: ErrorInfo) =>
      this.#finalizeDirect(job.execId, { status: 'failed', result: null, error });
    if (!held || held.tenantId !== job.tenantId) {
      return refuse({
        code: 'NOT_FOUND',
        message: `sandbox ${job.sandboxId} is not held by node ${nodeId} (it was destroyed or the node restarted); create a new sandbox`,
      });
    }
    if (held.policyHash !== job.policyHash) {
      return refuse({
        code: 'CONFLICT',
        message: `exec carries policy ${job.policyHash} but the sandbox holds ${held.policyHash}`,
      });
    }

    const controller = new AbortController();
    this.#running.set(job.execId, { sandboxId: job.sandboxId, controller });
    const out = this.#o.links.open(job.replyTo, job.execId);
    let outcome: ExecOutcome;
    try {
      const result = await this.#o.executor.exec(
        job.sandboxId,
        { execId: job.execId, ...job.request },
        async (chunk) => {
          try {
            await out.write(chunk.stream, chunk.data);
          } catch {
            // The gateway will take no more (the exec was settled elsewhere): stop the command.
            controller.abort();
          }
        },
        controller.signal,
      );
      outcome = { status: result.canceled ? 'canceled' : 'exited', result, error: null };
    } catch (err) {
      log.error({ execId: job.execId, err }, 'exec failed');
      outcome = { status: 'failed', result: null, error: errorInfoOf(err, 'the exec') };
    } finally {
      this.#running.delete(job.execId);
    }
    const delivered = await out.finish(outcome, this.#o.exitAckTimeoutMs);
    if (!delivered) {
      // Compare-and-set: a no-op when the exec was already settled elsewhere.
      log.warn({ execId: job.execId }, 'gateway did not store the outcome; writing it directly');
      await this.#finalizeDirect(job.execId, outcome);
    }
    log.info({ execId: job.execId, status: outcome.status }, 'exec done');
  }

  /** Aborts every running exec (shutdown). */
  abortAll(): void {
    for (const r of this.#running.values()) r.controller.abort();
  }
}
