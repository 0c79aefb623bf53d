// Jobs that take an exec slot: plain execs, session commands and handler runs. Each is claimed
// first (Lua CAS queued → running), so a job handed out twice never runs twice; output streams
// to the dispatching gateway; the outcome carries the commit that followed and the denials.
import {
  MAX_HANDLER_RESULT_BYTES,
  type ErrorInfo,
  type ExecJob,
  type ExecOutcome,
  type ExecResult,
  type HandlerJob,
  type HandlerOutcome,
  type SessionExecJob,
} from '@cordon/protocol';
import type { Logger } from 'pino';
import { runHandler } from '../handler/index.ts';
import type { AfterExec, Sandbox } from '../sandbox/index.ts';
import type { ShellSession } from '../session/index.ts';
import { errorInfoOf, WorkerError } from './errors.ts';
import { commitSummary, denialSummary, type NodeState } from './node-state.ts';
import type { ExecOutput, OutputLinks } from './output-link.ts';
import type { HeldSandbox } from './runtime.ts';

export interface HeldSession {
  readonly session: ShellSession;
  readonly sandboxId: string;
  readonly tenantId: string;
  readonly sandbox: Sandbox;
}

interface RunningExec {
  readonly sandboxId: string;
  readonly controller: AbortController;
}

export interface ExecJobsOptions {
  readonly state: NodeState;
  readonly links: OutputLinks;
  readonly exitAckTimeoutMs: number;
  readonly sessions: ReadonlyMap<string, HeldSession>;
  readonly held: (sandboxId: string, tenantId: string) => HeldSandbox | ErrorInfo;
  readonly log: Logger;
}

/** Handler output over the API is capped (it travels inside the exec record). */
const HANDLER_OUTPUT_BYTES = 1024 * 1024;

export class ExecJobs {
  readonly #o: ExecJobsOptions;
  readonly #running = new Map<string, RunningExec>();

  constructor(o: ExecJobsOptions) {
    this.#o = o;
  }

  get runningCount(): number {
    return this.#running.size;
  }

  cancel(execId: string): void {
    this.#running.get(execId)?.controller.abort();
  }

  abortSandbox(sandboxId: string): void {
    for (const r of this.#running.values()) if (r.sandboxId === sandboxId) r.controller.abort();
  }

  /** Stops every running exec; with `reason`, they fail with it instead of reading canceled. */
  abortAll(reason?: WorkerError): void {
    for (const r of this.#running.values()) r.controller.abort(reason);
  }

  /**
   * Claims the exec (queued → running). It is registered as running before the claim is sent, so
   * a cancel published once the claim has landed (the gateway's cancel lost its race to the
   * claim) finds it here — even before its command has started — instead of being dropped.
   */
  async #claim(execId: string, log: Logger, sandboxId = ''): Promise<boolean> {
    const { state } = this.#o;
    this.#running.set(execId, { sandboxId, controller: new AbortController() });
    let r: number | undefined;
    try {
      r = await state.claim(execId);
    } finally {
      if (r !== 1) this.#running.delete(execId);
    }
    // Settled already (canceled while queued, or NODE_LOST before a restart): never run twice.
    if (r !== 1) log.info({ execId, claimed: r }, 'exec not claimable; skipped');
    return r === 1;
  }

  /** The claimed exec's registration (made by #claim), now known to run in `sandboxId`. */
  #registered(execId: string, sandboxId: string): AbortController {
    const controller = this.#running.get(execId)?.controller ?? new AbortController();
    this.#running.set(execId, { sandboxId, controller });
    return controller;
  }

  /**
   * For exec-slot jobs whose body lives elsewhere (terminal sessions, pty-jobs.ts): claim first,
   * then run like an exec — cancelable, output towards the gateway, outcome delivered.
   */
  claimExec(execId: string, log: Logger): Promise<boolean> {
    return this.#claim(execId, log);
  }

  refuseExec(execId: string, error: ErrorInfo): Promise<boolean> {
    this.#running.delete(execId);
    return this.#o.state.finalize(execId, { status: 'failed', result: null, error });
  }

  /** Runs `body` with output towards the gateway, then delivers the outcome (or writes it). */
  async runClaimed(
    execId: string,
    sandboxId: string,
    replyTo: string,
    log: Logger,
    body: (out: ExecOutput, signal: AbortSignal) => Promise<ExecResult>,
  ): Promise<void> {
    const controller = this.#registered(execId, sandboxId);
    const out = this.#o.links.open(replyTo, execId);
    let outcome: ExecOutcome;
    try {
      const result = await body(out, controller.signal);
      const stopped: unknown = controller.signal.reason;
      outcome =
        result.canceled && stopped instanceof WorkerError
          ? { status: 'failed', result: null, error: stopped.toInfo() }
          : { status: result.canceled ? 'canceled' : 'exited', result, error: null };
    } catch (err) {
      log.error({ execId, err }, 'exec failed');
      outcome = { status: 'failed', result: null, error: errorInfoOf(err, 'the exec') };
    } finally {
      this.#running.delete(execId);
    }
    const delivered = await out.finish(outcome, this.#o.exitAckTimeoutMs);
    if (!delivered) {
      log.warn({ execId }, 'gateway did not store the outcome; writing it directly');
      await this.#o.state.finalize(execId, outcome);
    }
    log.info({ execId, status: outcome.status }, 'exec done');
  }

  async #after(sandboxId: string, execId: string, after: AfterExec, log: Logger) {
    await this.#o.state
      .recordCommit(sandboxId, execId, after)
      .catch((err: unknown) => log.warn({ err }, 'could not record the commit'));
    return { commit: commitSummary(after), denials: denialSummary(after.denials) };
  }

  async exec(job: ExecJob, log: Logger): Promise<void> {
    // Stage timestamps (ms since the job was handed to us), logged with the request id.
    const t0 = performance.now();
    const stages: Record<string, number> = {};
    const mark = (name: string) =>
      (stages[name] = Math.round((performance.now() - t0) * 100) / 100);
    if (!(await this.#claim(job.execId, log, job.sandboxId))) return;
    mark('claimed');
    const held = this.#o.held(job.sandboxId, job.tenantId);
    if (!('sandbox' in held)) return void (await this.refuseExec(job.execId, held));
    if (held.spec.policy.hash !== job.policyHash) {
      return void (await this.refuseExec(job.execId, {
        code: 'CONFLICT',
        message: `exec carries policy ${job.policyHash} but the sandbox holds ${held.spec.policy.hash}`,
      }));
    }
    const req = job.request;
    const lim = held.spec.limits;
    if (
      req.limits.memoryBytes !== lim.memoryBytes ||
      req.limits.cpuMillicores !== lim.cpuMillicores ||
      req.limits.pids !== lim.pids
    ) {
      return void (await this.refuseExec(job.execId, {
        code: 'BAD_REQUEST',
        message:
          'memoryBytes, cpuMillicores and pids apply to the whole sandbox; set them at sandboxes.create (per exec: timeoutMs, outputBytes)',
      }));
    }
    held.lastActiveMs = Date.now();
    await this.runClaimed(job.execId, job.sandboxId, job.replyTo, log, async (out, signal) => {
      const running = await held.sandbox.exec(
        { argv: req.argv, cwd: `/workspace${req.cwd === '/' ? '' : req.cwd}`, env: req.env },
        {
          signal,
          outputBytes: req.limits.outputBytes,
          stdin: req.stdin === null ? 'ignore' : 'pipe',
          ...(req.limits.timeoutMs === null ? {} : { timeoutMs: req.limits.timeoutMs }),
        },
      );
      mark('spawned');
      if (req.stdin !== null && running.stdin) {
        running.stdin.on('error', () => undefined); // the command may exit without reading
        running.stdin.end(req.stdin);
      }
      try {
        for await (const chunk of running) {
          await out.write(chunk.stream, asBuffer(chunk.data));
        }
      } catch (err) {
        // The gateway takes no more (settled elsewhere): stop the command, keep the result.
        running.cancel();
        await running.drain().catch(() => undefined);
        log.warn({ execId: job.execId, err }, 'output refused; exec canceled');
      }
      mark('outputDone');
      const r = await running.result;
      mark('afterExec');
      held.lastActiveMs = Date.now();
      const after = await this.#after(job.sandboxId, job.execId, r, log);
      mark('commitRecorded');
      return {
        exitCode: r.exitCode,
        signal: r.signal,
        timedOut: r.timedOut,
        oomKilled: r.oomKilled,
        canceled: r.canceled,
        durationMs: Math.round(r.durationMs),
        stdoutBytes: r.stdoutBytes,
        stderrBytes: r.stderrBytes,
        truncated: r.truncated,
        ...after,
      };
    });
    mark('settled');
    log.debug({ execId: job.execId, stagesMs: stages }, 'exec stages');
  }

  async sessionExec(job: SessionExecJob, log: Logger): Promise<void> {
    if (!(await this.#claim(job.execId, log))) return;
    const s = this.#o.sessions.get(job.sessionId);
    if (!s || s.tenantId !== job.tenantId) {
      return void (await this.refuseExec(job.execId, {
        code: 'NOT_FOUND',
        message: `session ${job.sessionId} is not open on node ${this.#o.state.nodeId} (closed, idle timeout, or the node restarted); open a new one`,
      }));
    }
    const held = this.#o.held(s.sandboxId, job.tenantId);
    if (!('sandbox' in held)) return void (await this.refuseExec(job.execId, held));
    held.lastActiveMs = Date.now();
    await this.runClaimed(job.execId, s.sandboxId, job.replyTo, log, async (out, signal) => {
      const ticket = await held.sandbox.begin();
      let r;
      try {
        const cmd = s.session.stream(job.command, {
          signal,
          outputBytes: job.outputBytes,
          ...(job.timeoutMs === null ? {} : { timeoutMs: job.timeoutMs }),
        });
        try {
          for await (const chunk of cmd) await out.write(chunk.stream, asBuffer(chunk.data));
        } catch (err) {
          cmd.cancel();
          await cmd.drain().catch(() => undefined);
          log.warn({ execId: job.execId, err }, 'output refused; command canceled');
        }
        r = await cmd.result;
      } catch (err) {
        await ticket.end(null);
        throw err;
      }
      const after = await ticket.end(r.exitCode);
      held.lastActiveMs = Date.now();
      return {
        exitCode: r.exitCode,
        signal: null,
        timedOut: r.timedOut,
        oomKilled: false,
        canceled: r.canceled,
        durationMs: Math.round(r.durationMs),
        stdoutBytes: r.stdoutBytes,
        stderrBytes: r.stderrBytes,
        truncated: r.truncated,
        ...(await this.#after(s.sandboxId, job.execId, after, log)),
      };
    });
  }

  /**
   * A handler run. Its result, stdout and stderr travel in the exec record (bounded by
   * MAX_HANDLER_RESULT_BYTES and 1 MiB of output each), written straight to Redis — not as output
   * chunks, whose frames are small.
   */
  async handler(job: HandlerJob, log: Logger): Promise<void> {
    if (!(await this.#claim(job.execId, log, job.sandboxId))) return;
    const held = this.#o.held(job.sandboxId, job.tenantId);
    if (!('sandbox' in held)) return void (await this.refuseExec(job.execId, held));
    held.lastActiveMs = Date.now();
    const controller = this.#registered(job.execId, job.sandboxId);
    let outcome: ExecOutcome;
    try {
      const ticket = await held.sandbox.begin();
      let h;
      try {
        h = await runHandler(
          held.sandbox.handle,
          {
            language: job.language,
            code: job.code,
            event: job.event,
            ...(job.timeoutMs === null ? {} : { timeoutMs: job.timeoutMs }),
          },
          {
            maxResultBytes: MAX_HANDLER_RESULT_BYTES,
            outputBytes: HANDLER_OUTPUT_BYTES,
            signal: controller.signal,
          },
        );
      } catch (err) {
        await ticket.end(null);
        throw err;
      }
      const after = await ticket.end(h.error ? 1 : 0);
      const result: ExecResult = {
        exitCode: h.error ? 1 : 0,
        signal: null,
        timedOut: h.error?.type === 'Timeout',
        oomKilled: h.error?.type === 'OutOfMemory',
        canceled: h.error?.type === 'Canceled',
        durationMs: Math.round(h.durationMs),
        stdoutBytes: Buffer.byteLength(h.stdout),
        stderrBytes: Buffer.byteLength(h.stderr),
        truncated: h.truncated,
        ...(await this.#after(job.sandboxId, job.execId, after, log)),
        handler: {
          result: (h.result ?? null) as HandlerOutcome['result'],
          error: h.error,
          stdout: h.stdout,
          stderr: h.stderr,
        },
      };
      outcome = { status: result.canceled ? 'canceled' : 'exited', result, error: null };
    } catch (err) {
      log.error({ execId: job.execId, err }, 'handler failed');
      outcome = { status: 'failed', result: null, error: errorInfoOf(err, 'the handler') };
    } finally {
      this.#running.delete(job.execId);
      held.lastActiveMs = Date.now();
    }
    await this.#o.state.finalize(job.execId, outcome);
    log.info({ execId: job.execId, status: outcome.status }, 'handler done');
  }
}

/** A Buffer view of output bytes (Buffer.from(u8) would copy each chunk; pipes never reuse them). */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
