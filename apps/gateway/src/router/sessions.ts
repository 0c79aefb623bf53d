import {
  ExecIdResponseSchema,
  jobId,
  SessionCloseInputSchema,
  SessionCreateInputSchema,
  SessionExecInputSchema,
  SessionInputSchema,
  SessionRecordSchema,
  SessionResizeInputSchema,
  type SandboxRecord,
  type SessionRecord,
  type TerminalInput,
} from '@cordon/protocol';
import { z } from 'zod';
import type { Context } from '../context.ts';
import { GatewayError } from '../errors.ts';
import { newStateId } from '../state/ids.ts';
import {
  appendTerminalInput,
  getSession,
  putSession,
  setSessionExec,
  transitionSession,
} from '../state/sessions.ts';
import { authedProcedure, router, writeProcedure } from '../trpc.ts';
import { dispatchExec, usableSandbox } from './dispatch-exec.ts';

async function ownSession(ctx: Context, tenantId: string, id: string): Promise<SessionRecord> {
  const s = await getSession(ctx.services.redis, tenantId, id);
  if (!s) throw new GatewayError('NOT_FOUND', `session ${id} not found (or expired)`);
  return s;
}

/** Why a session cannot take work now, as the error to answer; null when it is open. */
function notOpen(s: SessionRecord): GatewayError | null {
  if (s.state === 'open') return null;
  return new GatewayError(
    s.error?.code === 'NODE_LOST' ? 'NODE_LOST' : 'CONFLICT',
    `session ${s.id} is ${s.state}${s.error ? ` (${s.error.message})` : ''}; open a new one`,
  );
}

/** Queues the job that opens the session's shell (a terminal takes an exec slot). */
async function openOnNode(
  ctx: Context,
  tenantId: string,
  sb: SandboxRecord,
  rec: SessionRecord,
  input: z.output<typeof SessionCreateInputSchema>,
): Promise<void> {
  const base = { requestId: ctx.requestId, tenantId, sessionId: rec.id, sandboxId: sb.id };
  const { idleTimeoutMs, env, pty } = input;
  if (!pty) {
    await ctx.services.queues.add(sb.nodeId, jobId('session', rec.id), {
      kind: 'session.open',
      ...base,
      idleTimeoutMs,
      env,
    });
    return;
  }
  let execId: string;
  try {
    execId = await dispatchExec(
      ctx,
      tenantId,
      sb,
      { argv: ['/bin/bash', '-i'], kind: 'pty', sessionId: rec.id },
      (id) => ({
        kind: 'session.pty',
        ...base,
        execId: id,
        idleTimeoutMs,
        env,
        pty,
        replyTo: ctx.services.clusterUrl(),
      }),
    );
  } catch (err) {
    await transitionSession(ctx.services.redis, rec.id, 'opening', 'failed', {
      code: err instanceof GatewayError ? err.cordonCode : 'INTERNAL',
      message: 'the terminal could not be queued',
    });
    throw err;
  }
  await setSessionExec(ctx.services.redis, rec.id, execId);
}

/** Feeds a terminal session's input stream (sessions.input and sessions.resize). */
async function sendToTerminal(
  ctx: Context,
  tenantId: string,
  sessionId: string,
  input: TerminalInput,
): Promise<{ sessionId: string }> {
  const s = await ownSession(ctx, tenantId, sessionId);
  if (!s.pty) {
    throw new GatewayError(
      'CONFLICT',
      `session ${s.id} is a command shell, not a terminal; run commands with sessions.exec, or open a terminal with sessions.create({ pty: { cols, rows } })`,
    );
  }
  // 'opening' is fine: input waits in the stream until the node starts reading it.
  if (s.state !== 'opening') {
    const e = notOpen(s);
    if (e) throw e;
  }
  const { redis, options } = ctx.services;
  if (!(await appendTerminalInput(redis, s.id, input, options.execTtlMs))) {
    throw new GatewayError(
      'RESOURCE_EXHAUSTED',
      `terminal ${s.id} is not consuming its input (its node is busy or gone); wait and retry, or close the session`,
    );
  }
  return { sessionId: s.id };
}

export const sessionsRouter = router({
  /**
   * Opens a stateful shell in the sandbox (cd, variables, functions persist between commands), or
   * with `pty` an interactive terminal: its output and exit status are exec `execId`'s
   * (execs.output, execs.wait), its input comes from sessions.input and sessions.resize.
   */
  create: writeProcedure
    .input(SessionCreateInputSchema)
    .output(SessionRecordSchema)
    .mutation(async ({ ctx, input }) => {
      const { redis, doneBus, options } = ctx.services;
      const tenantId = ctx.principal.tenantId;
      const sb = await usableSandbox(ctx, tenantId, input.sandboxId);
      const rec: SessionRecord = {
        id: newStateId('ss'),
        sandboxId: sb.id,
        nodeId: sb.nodeId,
        state: 'opening',
        createdAtMs: Date.now(),
        error: null,
        pty: input.pty ? { cols: input.pty.cols, rows: input.pty.rows } : null,
        execId: null,
      };
      await putSession(redis, tenantId, rec, options.execTtlMs);
      await openOnNode(ctx, tenantId, sb, rec, input);
      const settled = await doneBus.waitFor(
        `session:${rec.id}`,
        async () => {
          const cur = await getSession(redis, tenantId, rec.id);
          return cur && cur.state !== 'opening' ? cur : null;
        },
        options.createTimeoutMs,
      );
      if (settled?.state === 'open') return settled;
      if (!settled) {
        await transitionSession(redis, rec.id, 'opening', 'failed', {
          code: 'TIMEOUT',
          message: 'the node did not open the session in time',
        });
        throw new GatewayError('TIMEOUT', `node ${sb.nodeId} did not open the session in time`);
      }
      throw settled.error
        ? GatewayError.from(settled.error)
        : new GatewayError('INTERNAL', `session ended up ${settled.state}`);
    }),

  get: authedProcedure
    .input(SessionCloseInputSchema)
    .output(SessionRecordSchema)
    .query(({ ctx, input }) => ownSession(ctx, ctx.principal.tenantId, input.sessionId)),

  /**
   * Runs one shell command in the session → { execId }: output with execs.output, result with
   * execs.wait, like sandboxes.exec. Commands of one session run one at a time, in order.
   */
  exec: writeProcedure
    .input(SessionExecInputSchema)
    .output(ExecIdResponseSchema)
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      const s = await ownSession(ctx, tenantId, input.sessionId);
      const closed = notOpen(s);
      if (closed) throw closed;
      if (s.pty) {
        throw new GatewayError(
          'CONFLICT',
          `session ${s.id} is a terminal; type into it with sessions.input (commands end with "\\r")`,
        );
      }
      const sb = await usableSandbox(ctx, tenantId, s.sandboxId);
      const execId = await dispatchExec(
        ctx,
        tenantId,
        sb,
        { argv: [input.command], kind: 'session', sessionId: s.id },
        (id) => ({
          kind: 'session.exec',
          requestId: ctx.requestId,
          tenantId,
          execId: id,
          sessionId: s.id,
          sandboxId: sb.id,
          command: input.command,
          timeoutMs: input.timeoutMs,
          outputBytes: input.outputBytes ?? sb.limits.outputBytes,
          replyTo: ctx.services.clusterUrl(),
        }),
      );
      return { execId };
    }),

  /** Input to a terminal session, as typed ("ls\r", "\u0003" for Ctrl-C), in call order. */
  input: writeProcedure
    .input(SessionInputSchema)
    .output(z.strictObject({ sessionId: z.string() }))
    .mutation(({ ctx, input }) =>
      sendToTerminal(ctx, ctx.principal.tenantId, input.sessionId, {
        kind: 'data',
        data: Buffer.from(input.data, input.encoding),
      }),
    ),

  /** Resizes a terminal session; programs in it get SIGWINCH. Ordered with sessions.input. */
  resize: writeProcedure
    .input(SessionResizeInputSchema)
    .output(z.strictObject({ sessionId: z.string() }))
    .mutation(({ ctx, input }) =>
      sendToTerminal(ctx, ctx.principal.tenantId, input.sessionId, {
        kind: 'resize',
        cols: input.cols,
        rows: input.rows,
      }),
    ),

  /** Closes the session (kills its shell and background jobs). Idempotent. */
  close: writeProcedure
    .input(SessionCloseInputSchema)
    .output(z.strictObject({ sessionId: z.string(), state: SessionRecordSchema.shape.state }))
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      const s = await ownSession(ctx, tenantId, input.sessionId);
      if (s.state === 'open' || s.state === 'opening') {
        await ctx.services.queues.add(s.nodeId, jobId('session', `${s.id}-close`), {
          kind: 'session.close',
          requestId: ctx.requestId,
          tenantId,
          sessionId: s.id,
        });
        await transitionSession(ctx.services.redis, s.id, '*', 'closed');
      }
      const cur = await ownSession(ctx, tenantId, s.id);
      return { sessionId: cur.id, state: cur.state };
    }),
});
