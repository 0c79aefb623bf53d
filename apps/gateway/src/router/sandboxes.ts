import {
  CommitRecordSchema,
  ExecIdResponseSchema,
  ExecInputSchema,
  HandlerInputSchema,
  HandlerOutcomeSchema,
  CommitSummarySchema,
  DenialSummarySchema,
  jobId,
  mergeLimits,
  redisKeys,
  SandboxCommitsInputSchema,
  SandboxCreateInputSchema,
  SandboxIdInputSchema,
  SandboxListInputSchema,
  SandboxRecordSchema,
  isTerminalExecStatus,
  type CodebaseRecord,
  type NodeInfo,
  type SandboxRecord,
} from '@cordon/protocol';
import { z } from 'zod';
import { pickNode } from '../dispatch/placement.ts';
import { GatewayError } from '../errors.ts';
import { newId } from '../ids.ts';
import { getCodebase, putCodebase, transitionCodebase } from '../state/codebases.ts';
import { getExec } from '../state/execs.ts';
import { newStateId } from '../state/ids.ts';
import { getNode, listNodes } from '../state/nodes.ts';
import {
  getSandbox,
  listSandboxes,
  markSandboxDestroyed,
  putSandbox,
  transitionSandbox,
} from '../state/sandboxes.ts';
import { authedProcedure, router, writeProcedure } from '../trpc.ts';
import { dispatchExec, ownSandbox, usableSandbox, usableSandboxOnNode } from './dispatch-exec.ts';
import { compileOrBadRequest } from './policy.ts';
import type { Context } from '../context.ts';

/** Extra time `sandboxes.handler` waits beyond the handler's own timeout (queueing, start-up). */
const HANDLER_WAIT_MARGIN_MS = 30_000;
const DEFAULT_HANDLER_TIMEOUT_MS = 30_000;

/** The home node of an existing codebase (affinity), checked usable. */
async function homeOf(ctx: Context, tenantId: string, codebaseId: string) {
  const cb = await getCodebase(ctx.services.redis, tenantId, codebaseId);
  if (!cb) {
    throw new GatewayError(
      'NOT_FOUND',
      `codebase ${codebaseId} not found; list yours with codebases.list`,
    );
  }
  if (cb.state === 'lost') {
    throw new GatewayError(
      'NODE_LOST',
      `codebase ${cb.id} is on node ${cb.nodeId}, which is down; retry when it is back`,
    );
  }
  if (cb.state !== 'ready') {
    throw new GatewayError(
      'CONFLICT',
      cb.state === 'creating'
        ? `codebase ${cb.id} has no content yet; upload its tar first (PUT ${cb.uploadPath ?? ''})`
        : `codebase ${cb.id} is ${cb.state}; create a new one`,
    );
  }
  const node = await getNode(ctx.services.redis, cb.nodeId);
  if (!node || node.status !== 'up') {
    throw new GatewayError('NODE_LOST', `node ${cb.nodeId} (home of codebase ${cb.id}) is down`);
  }
  return { cb, node };
}

export const HandlerResponseSchema = z.strictObject({
  execId: z.string(),
  result: HandlerOutcomeSchema.shape.result,
  error: HandlerOutcomeSchema.shape.error,
  stdout: z.string(),
  stderr: z.string(),
  durationMs: z.number(),
  truncated: z.boolean(),
  commit: CommitSummarySchema.nullable(),
  denials: DenialSummarySchema,
});

export const sandboxesRouter = router({
  /**
   * Creates a sandbox on the codebase's home node (affinity); without codebaseId, on a scratch
   * empty codebase placed on the live node with the most free capacity. Waits until the node
   * reports ready (≤ createTimeoutMs).
   */
  create: writeProcedure
    .input(SandboxCreateInputSchema)
    .output(SandboxRecordSchema)
    .mutation(async ({ ctx, input }) => {
      const { redis, queues, doneBus, options } = ctx.services;
      const tenantId = ctx.principal.tenantId;
      const policyInput = input.preset ? { ...input.policy, preset: input.preset } : input.policy;
      const policy = compileOrBadRequest(policyInput);
      let node: NodeInfo;
      let codebase: CodebaseRecord;
      let scratch = false;
      if (input.codebaseId !== undefined) {
        ({ node, cb: codebase } = await homeOf(ctx, tenantId, input.codebaseId));
      } else {
        const picked = pickNode(await listNodes(redis));
        if (!picked) {
          throw new GatewayError(
            'RESOURCE_EXHAUSTED',
            'no node agent is up; start one (cordon node) or check that nodes can reach Redis',
          );
        }
        node = picked;
        scratch = true;
        codebase = {
          id: newStateId('cb'),
          nodeId: node.id,
          state: 'ready',
          source: 'empty',
          path: null,
          name: null,
          scratch: true,
          uploadPath: null,
          createdAtMs: Date.now(),
          error: null,
        };
        await putCodebase(redis, tenantId, codebase);
      }
      const rec: SandboxRecord = {
        id: newId('sb'),
        nodeId: node.id,
        state: 'creating',
        policyHash: policy.hash,
        limits: input.limits,
        network: input.network,
        strict: input.strict,
        idleTimeoutMs: input.idleTimeoutMs,
        commit: input.commit,
        commitMode: input.commitMode,
        quotaBytes: input.quotaBytes,
        codebaseId: codebase.id,
        createdAtMs: Date.now(),
        error: null,
      };
      await putSandbox(redis, tenantId, rec);
      await queues.add(node.id, jobId('create', rec.id), {
        kind: 'sandbox.create',
        requestId: ctx.requestId,
        tenantId,
        sandboxId: rec.id,
        codebaseId: codebase.id,
        scratch,
        commit: rec.commit,
        commitMode: rec.commitMode,
        quotaBytes: rec.quotaBytes,
        policy: { canonical: policy.canonical, hash: policy.hash },
        limits: rec.limits,
        network: rec.network,
        strict: rec.strict,
        idleTimeoutMs: rec.idleTimeoutMs,
      });
      ctx.log.info(
        { sandboxId: rec.id, nodeId: node.id, codebaseId: codebase.id },
        'sandbox placed',
      );
      const settled = await doneBus.waitFor(
        `sandbox:${rec.id}`,
        async () => {
          const cur = await getSandbox(redis, tenantId, rec.id);
          return cur && cur.state !== 'creating' ? cur : null;
        },
        options.createTimeoutMs,
      );
      if (settled?.state === 'ready') return settled;
      if (scratch) await transitionCodebase(redis, codebase.id, '*', 'deleted');
      if (!settled) {
        await transitionSandbox(redis, rec.id, 'creating', 'failed', {
          code: 'TIMEOUT',
          message: `node ${node.id} did not create the sandbox within ${options.createTimeoutMs} ms`,
        });
        throw new GatewayError(
          'TIMEOUT',
          `node ${node.id} did not create the sandbox within ${options.createTimeoutMs} ms; check the node agent's logs and retry`,
        );
      }
      throw settled.error
        ? GatewayError.from(settled.error)
        : new GatewayError('INTERNAL', `sandbox ended up ${settled.state}`);
    }),

  get: authedProcedure
    .input(SandboxIdInputSchema)
    .output(SandboxRecordSchema)
    .query(({ ctx, input }) => ownSandbox(ctx, ctx.principal.tenantId, input.sandboxId)),

  list: authedProcedure
    .input(SandboxListInputSchema)
    .output(z.array(SandboxRecordSchema))
    .query(({ ctx, input }) =>
      listSandboxes(ctx.services.redis, ctx.principal.tenantId, input.limit),
    ),

  /**
   * Idempotent; the node kills its execs and sessions, unmounts, deletes a scratch codebase. Works
   * on a lost sandbox too (the node cleans it up when it is back).
   */
  destroy: writeProcedure
    .input(SandboxIdInputSchema)
    .output(SandboxRecordSchema)
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      const sb = await ownSandbox(ctx, tenantId, input.sandboxId);
      const { redis, queues } = ctx.services;
      // A lost sandbox too: its job waits in the node's queue, and a node that comes back
      // removes sandboxes whose record says destroyed (recovery, or its periodic sweep).
      if (await markSandboxDestroyed(redis, sb.id)) {
        const cb = await getCodebase(redis, tenantId, sb.codebaseId);
        const scratch = cb?.scratch === true;
        if (scratch && !(await transitionCodebase(redis, sb.codebaseId, '*', 'deleted'))) {
          await transitionCodebase(redis, sb.codebaseId, 'lost', 'deleted');
        }
        await queues.add(sb.nodeId, jobId('destroy', sb.id), {
          kind: 'sandbox.destroy',
          requestId: ctx.requestId,
          tenantId,
          sandboxId: sb.id,
          deleteCodebaseId: scratch ? sb.codebaseId : null,
        });
      }
      return ownSandbox(ctx, tenantId, sb.id);
    }),

  /** → { execId }; output with execs.output, result with execs.wait. Goes to the sandbox's node. */
  exec: writeProcedure
    .input(ExecInputSchema)
    .output(ExecIdResponseSchema)
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      const { sb, node } = await usableSandboxOnNode(ctx, tenantId, input.sandboxId);
      for (const k of ['memoryBytes', 'cpuMillicores', 'pids'] as const) {
        const v = input.limits?.[k];
        if (v !== undefined && v !== sb.limits[k]) {
          throw new GatewayError(
            'BAD_REQUEST',
            `limits.${k}: applies to the whole sandbox; set it at sandboxes.create (per exec: timeoutMs, outputBytes)`,
            [{ path: `limits.${k}`, message: 'cannot be changed per exec' }],
          );
        }
      }
      const execId = await dispatchExec(
        ctx,
        tenantId,
        sb,
        { argv: input.argv, kind: 'exec' },
        (id) => ({
          kind: 'exec',
          requestId: ctx.requestId,
          tenantId,
          execId: id,
          sandboxId: sb.id,
          policyHash: sb.policyHash,
          request: {
            argv: input.argv,
            cwd: input.cwd,
            env: input.env,
            stdin: input.stdin,
            limits: mergeLimits(sb.limits, input.limits),
          },
          replyTo: ctx.services.clusterUrl(),
        }),
        node,
      );
      return { execId };
    }),

  /**
   * Runs a Lambda-style handler (python: `def handler(event)`, javascript: `export function
   * handler(event)`) and answers its result; also an exec (execId) for execs.get/cancel.
   */
  handler: writeProcedure
    .input(HandlerInputSchema)
    .output(HandlerResponseSchema)
    .mutation(async ({ ctx, input, signal }) => {
      const tenantId = ctx.principal.tenantId;
      const sb = await usableSandbox(ctx, tenantId, input.sandboxId);
      const execId = await dispatchExec(
        ctx,
        tenantId,
        sb,
        { argv: [`handler:${input.language}`], kind: 'handler' },
        (id) => ({
          kind: 'handler',
          requestId: ctx.requestId,
          tenantId,
          execId: id,
          sandboxId: sb.id,
          language: input.language,
          code: input.code,
          event: input.event ?? null,
          timeoutMs: input.timeoutMs,
          replyTo: ctx.services.clusterUrl(),
        }),
      );
      const waitMs = (input.timeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS) + HANDLER_WAIT_MARGIN_MS;
      const done = await ctx.services.doneBus.waitFor(
        `exec:${execId}`,
        async () => {
          const e = await getExec(ctx.services.redis, tenantId, execId);
          return e && isTerminalExecStatus(e.status) ? e : null;
        },
        waitMs,
        signal,
      );
      if (!done) {
        throw new GatewayError(
          'TIMEOUT',
          `handler ${execId} did not finish within ${waitMs} ms; see execs.get`,
        );
      }
      if (done.status !== 'exited' || !done.result?.handler) {
        throw done.error
          ? GatewayError.from(done.error)
          : new GatewayError('CONFLICT', `handler ${execId} ended ${done.status}`);
      }
      const r = done.result;
      const h = r.handler as NonNullable<typeof r.handler>;
      return {
        execId,
        result: h.result,
        error: h.error,
        stdout: h.stdout,
        stderr: h.stderr,
        durationMs: r.durationMs,
        truncated: r.truncated,
        commit: r.commit,
        denials: r.denials,
      };
    }),

  /** Recent commits of the sandbox, newest first (kept: the last 100, for execTtlMs). */
  commits: authedProcedure
    .input(SandboxCommitsInputSchema)
    .output(z.array(CommitRecordSchema))
    .query(async ({ ctx, input }) => {
      await ownSandbox(ctx, ctx.principal.tenantId, input.sandboxId);
      const raw = await ctx.services.redis.lrange(
        redisKeys.sandboxCommits(input.sandboxId),
        0,
        input.limit - 1,
      );
      return raw.map((r) => CommitRecordSchema.parse(JSON.parse(r)));
    }),
});
