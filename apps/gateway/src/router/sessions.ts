import {
  ExecIdResponseSchema,
  jobId,
  SessionCloseInputSchema,
  SessionCreateInputSchema,
  SessionExecInputSchema,
  SessionRecordSchema,
  type SessionRecord,
} from '@cordon/protocol';
import { z } from 'zod';
import type { Context } from '../context.ts';
import { GatewayError } from '../errors.ts';
import { newStateId } from '../state/ids.ts';
import { getSession, putSession, transitionSession } from '../state/sessions.ts';
import { authedProcedure, router, writeProcedure } from '../trpc.ts';
import { dispatchExec, usableSandbox } from './dispatch-exec.ts';

async function ownSession(ctx: Context, tenantId: string, id: string): Promise<SessionRecord> {
  const s = await getSession(ctx.services.redis, tenantId, id);
  if (!s) throw new GatewayError('NOT_FOUND', `session ${id} not found (or expired)`);
  return s;
}

export const sessionsRouter = router({
  /** Opens a stateful shell in the sandbox (cd, variables, functions persist between commands). */
  create: writeProcedure
    .input(SessionCreateInputSchema)
    .output(SessionRecordSchema)
    .mutation(async ({ ctx, input }) => {
      const { redis, queues, doneBus, options } = ctx.services;
      const tenantId = ctx.principal.tenantId;
      const sb = await usableSandbox(ctx, tenantId, input.sandboxId);
      const rec: SessionRecord = {
        id: newStateId('ss'),
        sandboxId: sb.id,
        nodeId: sb.nodeId,
        state: 'opening',
        createdAtMs: Date.now(),
        error: null,
      };
      await putSession(redis, tenantId, rec, options.execTtlMs);
      await queues.add(sb.nodeId, jobId('session', rec.id), {
        kind: 'session.open',
        requestId: ctx.requestId,
        tenantId,
        sessionId: rec.id,
        sandboxId: sb.id,
        idleTimeoutMs: input.idleTimeoutMs,
        env: input.env,
      });
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
      if (s.state !== 'open') {
        throw new GatewayError(
          s.error?.code === 'NODE_LOST' ? 'NODE_LOST' : 'CONFLICT',
          `session ${s.id} is ${s.state}${s.error ? ` (${s.error.message})` : ''}; open a new one`,
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
