// Shared by sandboxes.exec, sessions.exec and sandboxes.handler: check the sandbox and its node,
// reserve a slot (RESOURCE_EXHAUSTED beyond capacity + queue depth), queue the job.
import { jobId, type NodeInfo, type NodeJob, type SandboxRecord } from '@cordon/protocol';
import type { Context } from '../context.ts';
import { GatewayError } from '../errors.ts';
import { newId } from '../ids.ts';
import { finalizeExec, reserveExec, type NewExec } from '../state/execs.ts';
import { getNode } from '../state/nodes.ts';
import { getSandbox, getSandboxWithNode } from '../state/sandboxes.ts';

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
  // Sandbox and node in one round trip: this is on every exec's path.
  const found = await getSandboxWithNode(ctx.services.redis, tenantId, id);
  if (!found) {
    throw new GatewayError('NOT_FOUND', `sandbox ${id} not found; list yours with sandboxes.list`);
  }
  const { sb, node } = found;
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
  const jobData = job(execId);
  const reserving = reserveExec(
    redis,
    { ...exec, id: execId, tenantId, sandboxId: sb.id, nodeId: node.id, createdAtMs: Date.now() },
    limit,
    options.execTtlMs,
  );
  // Queued without waiting for the reservation: both go out on the same connection, so Redis
  // creates the record before the job exists (one round trip instead of two). If the node is
  // full the job is removed again; a node that took it meanwhile finds no record to claim.
  const queuing = queues.add(node.id, jobId('exec', execId), jobData).then(
    () => null,
    (err: unknown) => ({ err }),
  );
  const reserved = await reserving.catch(async (err: unknown) => {
    await queuing;
    await queues.remove(node.id, jobId('exec', execId), jobData.kind);
    throw err;
  });
  const queued = await queuing;
  if (!reserved) {
    if (!queued) await queues.remove(node.id, jobId('exec', execId), jobData.kind);
    throw new GatewayError(
      'RESOURCE_EXHAUSTED',
      `node ${node.id} already has ${limit} execs running or queued; wait for some to finish (execs.wait) and retry`,
    );
  }
  if (queued) {
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
    throw queued.err;
  }
  ctx.log.info({ execId, sandboxId: sb.id, nodeId: node.id, kind: exec.kind }, 'exec queued');
  return execId;
}
