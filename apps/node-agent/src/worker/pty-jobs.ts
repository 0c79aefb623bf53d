// Terminal sessions (sessions.create with pty): an interactive bash on a PTY in the sandbox, run
// as exec `execId` — it takes an exec slot for its lifetime, its output streams like any exec's,
// execs.cancel or sessions.close ends it, and the delta is committed when the shell exits.
import { redisKeys, type ErrorInfo, type ExecResult, type SessionPtyJob } from '@cordon/protocol';
import { constants } from 'node:os';
import type { Logger } from 'pino';
import type { Sandbox } from '../sandbox/index.ts';
import { openSession, type PtySession } from '../session/index.ts';
import { errorInfoOf } from './errors.ts';
import type { ExecJobs } from './exec-jobs.ts';
import { commitSummary, denialSummary, type NodeState } from './node-state.ts';
import type { ExecOutput } from './output-link.ts';
import { readTerminalInput } from './pty-input.ts';
import type { HeldSandbox } from './runtime.ts';

export interface HeldTerminal {
  readonly terminal: PtySession;
  readonly sandboxId: string;
  readonly tenantId: string;
  readonly sandbox: Sandbox;
}

export interface PtyJobsOptions {
  readonly state: NodeState;
  readonly execs: ExecJobs;
  readonly terminals: Map<string, HeldTerminal>;
  readonly held: (sandboxId: string, tenantId: string) => HeldSandbox | ErrorInfo;
  readonly log: Logger;
}

function signalName(n: number | null): string | null {
  if (n === null) return null;
  const entry = Object.entries(constants.signals).find(([, v]) => v === n);
  return entry ? entry[0] : String(n);
}

/** Output queued towards the gateway beyond which the PTY is paused (the shell then blocks). */
const HIGH_WATER_BYTES = 1024 * 1024;

/**
 * Forwards terminal output in order (ExecOutput.write must not be called concurrently) and pauses
 * the PTY while the gateway is behind, so a `cat` of a huge file cannot fill the node's memory.
 */
function pumpOutput(term: PtySession, out: ExecOutput, log: Logger) {
  const queue: Buffer[] = [];
  let queued = 0;
  let paused = false;
  let failed = false;
  let wake: (() => void) | null = null;
  let ended = false;
  let written = 0;
  const sub = term.onData((data) => {
    if (failed) return;
    queue.push(Buffer.from(data));
    queued += data.length;
    if (!paused && queued > HIGH_WATER_BYTES) {
      paused = true;
      term.pause();
    }
    wake?.();
  });
  const done = (async () => {
    for (;;) {
      const chunk = queue.shift();
      if (!chunk) {
        if (ended) return;
        await new Promise<void>((r) => (wake = r));
        wake = null;
        continue;
      }
      queued -= chunk.length;
      try {
        await out.write('stdout', chunk);
        written += chunk.length;
      } catch (err) {
        // The gateway takes no more output (settled elsewhere): end the terminal.
        failed = true;
        log.warn({ err }, 'terminal output refused; closing the terminal');
        void term.close();
        return;
      }
      if (paused && queued < HIGH_WATER_BYTES / 2) {
        paused = false;
        term.resume();
      }
    }
  })();
  return {
    get bytes() {
      return written;
    },
    /** Stops taking output and resolves once everything taken was written. */
    async finish(): Promise<void> {
      sub.dispose();
      ended = true;
      wake?.();
      await done;
    },
  };
}

export class PtyJobs {
  readonly #o: PtyJobsOptions;

  constructor(o: PtyJobsOptions) {
    this.#o = o;
  }

  async open(job: SessionPtyJob, log: Logger): Promise<void> {
    const { state, execs } = this.#o;
    const failSession = (error: ErrorInfo) =>
      state.session(job.sessionId, 'opening', 'failed', error).catch(() => false);
    if (!(await execs.claimExec(job.execId, log))) {
      await failSession({
        code: 'CONFLICT',
        message: 'the terminal was canceled before it started',
      });
      return;
    }
    const held = this.#o.held(job.sandboxId, job.tenantId);
    if (!('sandbox' in held)) {
      await failSession(held);
      await execs.refuseExec(job.execId, held);
      return;
    }
    held.lastActiveMs = Date.now();
    await execs.runClaimed(job.execId, job.sandboxId, job.replyTo, log, async (out, signal) => {
      const ticket = await held.sandbox.begin();
      let term: PtySession;
      try {
        term = await openSession(held.sandbox.handle, {
          pty: { cols: job.pty.cols, rows: job.pty.rows },
          term: job.pty.term,
          env: job.env,
          idleTimeoutMs: job.idleTimeoutMs,
        });
      } catch (err) {
        await ticket.end(null);
        await failSession(errorInfoOf(err, 'opening the terminal'));
        throw err;
      }
      return this.#serve(job, held, term, out, signal, log, async (code) => {
        const after = await ticket.end(code);
        await state
          .recordCommit(job.sandboxId, job.execId, after)
          .catch((err: unknown) => log.warn({ err }, 'could not record the commit'));
        return { commit: commitSummary(after), denials: denialSummary(after.denials) };
      });
    });
  }

  async #serve(
    job: SessionPtyJob,
    held: HeldSandbox,
    term: PtySession,
    out: ExecOutput,
    signal: AbortSignal,
    log: Logger,
    end: (exitCode: number) => Promise<Pick<ExecResult, 'commit' | 'denials'>>,
  ): Promise<ExecResult> {
    const { state, terminals } = this.#o;
    const startedAt = performance.now();
    const output = pumpOutput(term, out, log);
    const input = readTerminalInput(
      state.redis,
      job.sessionId,
      (i) => {
        try {
          if (i.kind === 'data') term.write(i.data);
          else term.resize(i.cols, i.rows);
          held.lastActiveMs = Date.now();
        } catch (err) {
          log.debug({ sessionId: job.sessionId, err }, 'terminal input after close dropped');
        }
      },
      log,
    );
    let canceled = false;
    const onAbort = () => {
      canceled = true;
      void term.close();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    held.sandbox.sessionOpened();
    terminals.set(job.sessionId, {
      terminal: term,
      sandboxId: job.sandboxId,
      tenantId: job.tenantId,
      sandbox: held.sandbox,
    });
    try {
      if (!(await state.session(job.sessionId, 'opening', 'open', null))) {
        canceled = true; // closed (sessions.close) while it was queued or opening
        await term.close();
      } else {
        log.info({ sessionId: job.sessionId, execId: job.execId }, 'terminal open');
      }
      const exit = await term.exited;
      await term.closed;
      // Ended from outside (sessions.close, execs.cancel, node shutdown, idle): not by the shell.
      if (term.closeCause !== 'exited') canceled = true;
      await output.finish();
      const r = await end(exit.exitCode);
      return {
        exitCode: exit.exitCode,
        signal: signalName(exit.signal),
        timedOut: term.closeCause === 'idle',
        oomKilled: false,
        canceled,
        durationMs: Math.round(performance.now() - startedAt),
        stdoutBytes: output.bytes,
        stderrBytes: 0,
        truncated: false,
        ...r,
      };
    } finally {
      signal.removeEventListener('abort', onAbort);
      await input.stop();
      terminals.delete(job.sessionId);
      held.sandbox.sessionClosed();
      held.lastActiveMs = Date.now();
      await state.session(job.sessionId, '*', 'closed', null).catch(() => false);
      await state.redis.del(redisKeys.sessionInput(job.sessionId)).catch(() => 0);
    }
  }
}
