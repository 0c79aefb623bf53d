import {
  ExecIdResponseSchema,
  ExecInputSchema,
  jobId,
  mergeLimits,
  SandboxCreateInputSchema,
  SandboxIdInputSchema,
  SandboxListInputSchema,
  SandboxRecordSchema,
  type SandboxRecord,
} from '@cordon/protocol';
import { z } from 'zod';
import type { Context } from '../context.ts';
import { pickNode } from '../dispatch/placement.ts';
import { GatewayError, notFound } from '../errors.ts';
import { newId } from '../ids.ts';
import { finalizeExec, reserveExec } from '../state/execs.ts';
import { getNode, listNodes } from '../state/nodes.ts';
import { getSandbox, listSandboxes, putSandbox, transitionSandbox } from '../state/sandboxes.ts';
import { authedProcedure, router, writeProcedure } from '../trpc.ts';
import { compileOrBadRequest } from './policy.ts';

async function ownSandbox(ctx: Context, tenantId: string, id: string): Promise<SandboxRecord> {
  const sb = await getSandbox(ctx.services.redis, tenantId, id);
  if (!sb) throw notFound('sandbox', id);
  return sb;
}

export const sandboxesRouter = router({
  create: writeProcedure
    .input(SandboxCreateInputSchema)
    .output(SandboxRecordSchema)
    .mutation(async ({ ctx, input }) => {
      const { redis, queues, doneBus, options } = ctx.services;
      const policyInput = input.preset ? { ...input.policy, preset: input.preset } : input.policy;
      const policy = compileOrBadRequest(policyInput);
      const node = pickNode(await listNodes(redis));
      if (!node) {
        throw new GatewayError(
          'RESOURCE_EXHAUSTED',
          'no node agent is up; start one (cordon node) or check that nodes can reach Redis',
        );
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
        codebaseId: input.codebaseId ?? null,
        createdAtMs: Date.now(),
        error: null,
      };
      const tenantId = ctx.principal.tenantId;
      await putSandbox(redis, tenantId, rec);
      await queues.add(node.id, jobId('create', rec.id), {
        kind: 'sandbox.create',
        requestId: ctx.requestId,
        tenantId,
        sandboxId: rec.id,
        policy: { canonical: policy.canonical, hash: policy.hash },
        limits: rec.limits,
        network: rec.network,
        strict: rec.strict,
        idleTimeoutMs: rec.idleTimeoutMs,
      });
      ctx.log.info({ sandboxId: rec.id, nodeId: node.id }, 'sandbox placed');
      const settled = await doneBus.waitFor(
        `sandbox:${rec.id}`,
        async () => {
          const cur = await getSandbox(redis, tenantId, rec.id);
          return cur && cur.state !== 'creating' ? cur : null;
        },
        options.createTimeoutMs,
      );
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
      if (settled.state === 'ready') return settled;
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

  destroy: writeProcedure
    .input(SandboxIdInputSchema)
    .output(SandboxRecordSchema)
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      const sb = await ownSandbox(ctx, tenantId, input.sandboxId);
      const { redis, queues } = ctx.services;
      if (await transitionSandbox(redis, sb.id, '*', 'destroyed')) {
        await queues.add(sb.nodeId, jobId('destroy', sb.id), {
          kind: 'sandbox.destroy',
          requestId: ctx.requestId,
          tenantId,
          sandboxId: sb.id,
        });
      }
      return ownSandbox(ctx, tenantId, sb.id);
    }),

  exec: writeProcedure
    .input(ExecInputSchema)
    .output(ExecIdResponseSchema)
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      const { redis, queues, options } = ctx.services;
      const sb = await ownSandbox(ctx, tenantId, input.sandboxId);
      if (sb.state === 'lost') {
        throw new GatewayError(
          'NODE_LOST',
          `sandbox ${sb.id} was lost with node ${sb.nodeId}; create a new one`,
        );
      }
      if (sb.state !== 'ready') {
        throw new GatewayError(
          'CONFLICT',
          `sandbox ${sb.id} is ${sb.state}; it must be ready to run commands`,
        );
      }
      const node = await getNode(redis, sb.nodeId);
      if (!node || node.status !== 'up') {
        throw new GatewayError(
          'NODE_LOST',
          `node ${sb.nodeId} of sandbox ${sb.id} is down; create a new sandbox`,
        );
      }
      const limit = node.capacity + options.maxQueuedPerNode;
      const execId = newId('ex');
      const reserved = await reserveExec(
        redis,
        {
          id: execId,
          tenantId,
          sandboxId: sb.id,
          nodeId: node.id,
          argv: input.argv,
          createdAtMs: Date.now(),
        },
        limit,
        options.execTtlMs,
      );
      if (!reserved) {
        throw new GatewayError(
          'RESOURCE_EXHAUSTED',
          `node ${node.id} already has ${limit} execs running or queued; wait for some to finish (execs.wait) and retry`,
        );
      }
      try {
        await queues.add(node.id, jobId('exec', execId), {
          kind: 'exec',
          requestId: ctx.requestId,
          tenantId,
          execId,
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
        });
      } catch (err) {
        await finalizeExec(
          redis,
          { id: execId, nodeId: node.id },
          {
            status: 'failed',
            result: null,
            error: { code: 'INTERNAL', message: 'could not queue the exec' },
          },
          options.execTtlMs,
        );
        throw err;
      }
      ctx.log.info({ execId, sandboxId: sb.id, nodeId: node.id }, 'exec queued');
      return { execId };
    }),
});
