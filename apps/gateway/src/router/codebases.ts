import {
  CodebaseCreateInputSchema,
  CodebaseIdInputSchema,
  CodebaseListInputSchema,
  CodebaseRecordSchema,
  jobId,
  uploadPath,
  type CodebaseRecord,
} from '@cordon/protocol';
import { z } from 'zod';
import type { Context } from '../context.ts';
import { pickNode, pickNodeForPath } from '../dispatch/placement.ts';
import { GatewayError } from '../errors.ts';
import { getCodebase, listCodebases, putCodebase, transitionCodebase } from '../state/codebases.ts';
import { newStateId } from '../state/ids.ts';
import { listNodes } from '../state/nodes.ts';
import { liveSandboxesOf } from '../state/sandboxes.ts';
import { authedProcedure, router, writeProcedure } from '../trpc.ts';

export async function ownCodebase(
  ctx: Context,
  tenantId: string,
  id: string,
): Promise<CodebaseRecord> {
  const cb = await getCodebase(ctx.services.redis, tenantId, id);
  if (!cb) {
    throw new GatewayError('NOT_FOUND', `codebase ${id} not found; list yours with codebases.list`);
  }
  return cb;
}

export const codebasesRouter = router({
  /**
   * upload: placed on the live node with the most free capacity, `creating` until its tar is
   * PUT to `uploadPath`. path: on the named node, or a live node whose --allow-path covers it;
   * the node checks the real path and answers FORBIDDEN outside its allow-list. empty: ready.
   */
  create: writeProcedure
    .input(CodebaseCreateInputSchema)
    .output(CodebaseRecordSchema)
    .mutation(async ({ ctx, input }) => {
      const { redis, queues, doneBus, options } = ctx.services;
      const tenantId = ctx.principal.tenantId;
      const nodes = await listNodes(redis);
      const src = input.source;
      const node =
        src.kind === 'path' ? pickNodeForPath(nodes, src.path, src.nodeId) : pickNode(nodes);
      if (!node) {
        if (src.kind !== 'path' || nodes.every((n) => n.status !== 'up')) {
          throw new GatewayError(
            'RESOURCE_EXHAUSTED',
            'no node agent is up; start one (cordon node) or check that nodes can reach Redis',
          );
        }
        const named = src.nodeId ? nodes.find((n) => n.id === src.nodeId) : undefined;
        throw new GatewayError(
          src.nodeId && (!named || named.status !== 'up') ? 'NOT_FOUND' : 'FORBIDDEN',
          src.nodeId && (!named || named.status !== 'up')
            ? `node ${src.nodeId} is not up; see nodes.list`
            : `no live node allows the host path ${src.path}; start a node with --allow-path covering it, or upload the codebase`,
        );
      }
      const id = newStateId('cb');
      const rec: CodebaseRecord = {
        id,
        nodeId: node.id,
        state: 'creating',
        source: src.kind,
        path: src.kind === 'path' ? src.path : null,
        name: input.name ?? null,
        scratch: false,
        uploadPath: src.kind === 'upload' ? uploadPath(id) : null,
        createdAtMs: Date.now(),
        error: null,
      };
      await putCodebase(redis, tenantId, rec);
      if (src.kind === 'upload') return rec;
      await queues.add(node.id, jobId('codebase', id), {
        kind: 'codebase.create',
        requestId: ctx.requestId,
        tenantId,
        codebaseId: id,
        source: src.kind,
        path: src.kind === 'path' ? src.path : null,
      });
      const settled = await doneBus.waitFor(
        `codebase:${id}`,
        async () => {
          const cur = await getCodebase(redis, tenantId, id);
          return cur && cur.state !== 'creating' ? cur : null;
        },
        options.createTimeoutMs,
      );
      if (settled?.state === 'ready') return settled;
      if (!settled) {
        await transitionCodebase(redis, id, 'creating', 'failed', {
          code: 'TIMEOUT',
          message: `node ${node.id} did not create the codebase in time`,
        });
        throw new GatewayError(
          'TIMEOUT',
          `node ${node.id} did not create the codebase within ${options.createTimeoutMs} ms; check the node agent's logs`,
        );
      }
      throw settled.error
        ? GatewayError.from(settled.error)
        : new GatewayError('INTERNAL', `codebase ended up ${settled.state}`);
    }),

  get: authedProcedure
    .input(CodebaseIdInputSchema)
    .output(CodebaseRecordSchema)
    .query(({ ctx, input }) => ownCodebase(ctx, ctx.principal.tenantId, input.codebaseId)),

  list: authedProcedure
    .input(CodebaseListInputSchema)
    .output(z.array(CodebaseRecordSchema))
    .query(({ ctx, input }) =>
      listCodebases(ctx.services.redis, ctx.principal.tenantId, input.limit),
    ),

  /**
   * Deletes the codebase (a managed one's files; a host path is only forgotten). CONFLICT while
   * sandboxes on it are creating or ready — destroy them first. Idempotent.
   */
  delete: writeProcedure
    .input(CodebaseIdInputSchema)
    .output(CodebaseRecordSchema)
    .mutation(async ({ ctx, input }) => {
      const tenantId = ctx.principal.tenantId;
      const { redis, queues } = ctx.services;
      const cb = await ownCodebase(ctx, tenantId, input.codebaseId);
      const live = await liveSandboxesOf(redis, cb.id);
      if (live.length > 0) {
        throw new GatewayError(
          'CONFLICT',
          `codebase ${cb.id} has ${live.length} live sandbox(es) (${live.slice(0, 5).join(', ')}); destroy them first`,
        );
      }
      if (await transitionCodebase(redis, cb.id, '*', 'deleted')) {
        await queues.add(cb.nodeId, jobId('codebase', `${cb.id}-delete`), {
          kind: 'codebase.delete',
          requestId: ctx.requestId,
          tenantId,
          codebaseId: cb.id,
        });
      }
      return ownCodebase(ctx, tenantId, cb.id);
    }),
});
