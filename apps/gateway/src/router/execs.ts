import {
  ExecIdInputSchema,
  ExecOutputInputSchema,
  ExecRecordSchema,
  ExecWaitInputSchema,
  isTerminalExecStatus,
  jobId,
  redisKeys,
  type ExecRecord,
} from '@cordon/protocol';
import { tracked } from '@trpc/server';
import type { Context } from '../context.ts';
import { GatewayError, notFound } from '../errors.ts';
import { readOutput } from '../output/reader.ts';
import { execOfHash, finalizeExec, getExec } from '../state/execs.ts';
import { authedProcedure, router, writeProcedure } from '../trpc.ts';

async function ownExec(ctx: Context, tenantId: string, id: string): Promise<ExecRecord> {
  const e = await getExec(ctx.services.redis, tenantId, id);
  if (!e) throw notFound('exec', id);
  return e;
}

export const execsRouter = router({
  get: authedProcedure
    .input(ExecIdInputSchema)
    .output(ExecRecordSchema)
    .query(({ ctx, input }) => ownExec(ctx, ctx.principal.tenantId, input.execId)),

  /**
   * Output events tracked by seq; on reconnect tRPC's wsLink passes the last seq as lastEventId
   * and the stream resumes right after it, from any gateway.
   */
  output: authedProcedure.input(ExecOutputInputSchema).subscription(async function* ({
    ctx,
    input,
    signal,
  }) {
    const tenantId = ctx.principal.tenantId;
    await ownExec(ctx, tenantId, input.execId);
    const { redis, options } = ctx.services;
    const events = readOutput({
      source: ctx.services.outputReader,
      execId: input.execId,
      afterSeq: input.lastEventId ? Number(input.lastEventId) : 0,
      socket: ctx.socket,
      highWaterBytes: options.wsHighWaterBytes,
      batchEntries: options.readBatchEntries,
      signal,
      stillExists: async () => (await redis.exists(redisKeys.exec(input.execId))) === 1,
    });
    for await (const ev of events) yield tracked(String(ev.seq), ev);
  }),

  /**
   * Waits until the exec ends and returns its record. An exec that Cordon could not finish
   * (e.g. NODE_LOST) answers with that error; still running after `waitMs` answers TIMEOUT.
   */
  wait: authedProcedure
    .input(ExecWaitInputSchema)
    .output(ExecRecordSchema)
    .query(async ({ ctx, input, signal }) => {
      const tenantId = ctx.principal.tenantId;
      const ended = (e: ExecRecord | null) => (e && isTerminalExecStatus(e.status) ? e : null);
      // The first check answers NOT_FOUND for unknown and other tenants' ids. When this gateway
      // stores the outcome itself, the record comes with the wake-up (no pub/sub, no re-read).
      const done = await ctx.services.doneBus.waitFor(
        `exec:${input.execId}`,
        async () => ended(await ownExec(ctx, tenantId, input.execId)),
        input.waitMs,
        signal,
        (hash) => ended(execOfHash(hash, tenantId)),
      );
      if (!done) {
        throw new GatewayError(
          'TIMEOUT',
          `exec ${input.execId} is still running after ${input.waitMs} ms; call execs.wait again`,
        );
      }
      if (done.status === 'failed') {
        throw done.error
          ? GatewayError.from(done.error)
          : new GatewayError('INTERNAL', `exec ${done.id} failed without a recorded reason`);
      }
      return done;
    }),

  /** Cancels a queued exec at once; a running one is killed by its node. Idempotent. */
  cancel: writeProcedure
    .input(ExecIdInputSchema)
    .output(ExecRecordSchema)
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      const { redis, queues, options } = ctx.services;
      const e = await ownExec(ctx, tenantId, input.execId);
      if (isTerminalExecStatus(e.status)) return e;
      const canceledQueued = await finalizeExec(
        redis,
        e,
        { status: 'canceled', result: null, error: null },
        options.execTtlMs,
        true,
      );
      if (canceledQueued) {
        // Best effort: if the node picks it up anyway, it finds the exec settled and skips it.
        await queues
          .execQueue(e.nodeId)
          .remove(jobId('exec', e.id))
          .catch(() => 0);
      } else {
        await redis.publish(redisKeys.nodeCancelChannel(e.nodeId), e.id);
      }
      return ownExec(ctx, tenantId, e.id);
    }),
});
