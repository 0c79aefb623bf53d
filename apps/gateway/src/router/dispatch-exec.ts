// Shared by sandboxes.exec, sessions.exec and sandboxes.handler: check the sandbox and its node,
// reserve a slot (RESOURCE_EXHAUSTED beyond capacity + queue depth), queue the job.
import { jobId, type NodeInfo, type NodeJob, type SandboxRecord } from '@cordon/protocol';
import type { Context } from '../context.ts';
import { GatewayError } from '../errors.ts';
import { newId } from '../ids.ts';
import { finalizeExec, reserveExec, type NewExec } from '../state/execs.ts';
import { getNode } from '../state/nodes.ts';
import { getSandbox } from '../state/sandboxes.ts';

export async function ownSandbox(
  ctx: Context,
  tenantId: string,
  id: string,
): Promise<SandboxRecord> {
  const sb = await getSandbox(ctx.services.redis, tenantId, id);
  if (!sb) {
    throw new GatewayError('NOT_FOUND', `sandbox ${id} not found; list yours with sandboxes.list`);
  }
  return sb;
}

/** A sandbox that can take work now (ready, node up), else the error saying why not. */
export async function usableSandbox(
  ctx: Context,
  tenantId: string,
  id: string,
): Promise<SandboxRecord> {
  return (await usableSandboxOnNode(ctx, tenantId, id)).sb;
}

/** usableSandbox, with the node record it checked (dispatchExec need not read it again). */
export async function usableSandboxOnNode(
  ctx: Context,
  tenantId: string,
  id: string,
): Promise<{ sb: SandboxRecord; node: NodeInfo }> {
  const sb = await ownSandbox(ctx, tenantId, id);
  if (sb.state === 'lost') {
    throw new GatewayError(
      'NODE_LOST',
      `sandbox ${sb.id} was lost with node ${sb.nodeId}; it returns if the node restarts with its data, else create a new one`,
    );
  }
  if (sb.state !== 'ready') {
    throw new GatewayError(
      'CONFLICT',
      `sandbox ${sb.id} is ${sb.state}; it must be ready to run commands`,
    );
  }
  const node = await getNode(ctx.services.redis, sb.nodeId);
  if (!node || node.status !== 'up') {
    throw new GatewayError(
      'NODE_LOST',
      `node ${sb.nodeId} of sandbox ${sb.id} is down; retry when it is back or create a new sandbox`,
    );
  }
  return { sb, node };
}

/**
 * Reserves an exec slot on the sandbox's node and queues `job(execId)`; returns the exec id.
 * `checkedNode`: the node record the caller just read (usableSandboxOnNode), else it is read here.
 */
export async function dispatchExec(
  ctx: Context,
  tenantId: string,
  sb: SandboxRecord,
  exec: Omit<NewExec, 'id' | 'tenantId' | 'sandboxId' | 'nodeId' | 'createdAtMs'>,
  job: (execId: string) => NodeJob,
  checkedNode?: NodeInfo,
): Promise<string> {
  const { redis, queues, options } = ctx.services;
  const node = checkedNode?.id === sb.nodeId ? checkedNode : await getNode(redis, sb.nodeId);
  if (!node || node.status !== 'up') {
    throw new GatewayError('NODE_LOST', `node ${sb.nodeId} of sandbox ${sb.id} is down`);
  }
  const limit = node.capacity + options.maxQueuedPerNode;
  const execId = newId('ex');
  const reserved = await reserveExec(
    redis,
    { ...exec, id: execId, tenantId, sandboxId: sb.id, nodeId: node.id, createdAtMs: Date.now() },
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
    await queues.add(node.id, jobId('exec', execId), job(execId));
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
  ctx.log.info({ execId, sandboxId: sb.id, nodeId: node.id, kind: exec.kind }, 'exec queued');
  return execId;
}
