// What a (re)starting node agent does before it takes work: settle what its previous incarnation
// left in Redis, and bring back the sandboxes it still holds on disk.
//
// - Execs of this node that were running (claimed) fail with NODE_LOST now: the process that
//   ran them is gone, and they are never run again (the janitor does the same when the node stays
//   down past its heartbeat TTL; this covers a restart faster than that).
// - Queued execs whose BullMQ job is no longer waiting (it was active in the dead process, so
//   maxStalledCount 0 fails it) fail with NODE_LOST too; waiting ones simply run.
// - Sessions lived in the dead process: closed.
// - Sandboxes on disk: re-mounted from codebase + delta (lost → ready again) when their record
//   still says they exist on this node; deleted locally when they were destroyed meanwhile;
//   marked lost (with the reason) when they cannot be re-mounted.
// - Codebases on disk whose record is `lost` (the janitor saw the node down) become ready again.
import { BULL_PREFIX, jobId, nodeQueueName, redisKeys, type ExecOutcome } from '@cordon/protocol';
import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { errorInfoOf } from './errors.ts';
import type { NodeState } from './node-state.ts';
import type { NodeRuntime } from './runtime.ts';

export interface RecoveryReport {
  readonly execsFailed: number;
  readonly sandboxesRecovered: number;
  readonly sandboxesLost: number;
  readonly sandboxesRemoved: number;
  readonly codebasesRecovered: number;
  /** Sandbox cgroups of this node that no sandbox it holds owns (a killed run's leftovers). */
  readonly cgroupsRemoved: number;
}

const lostOutcome = (nodeId: string): ExecOutcome => ({
  status: 'failed',
  result: null,
  error: {
    code: 'NODE_LOST',
    message: `node ${nodeId} restarted while this exec was running; it may have partly run — check the codebase, then retry`,
  },
});

async function settleExecs(state: NodeState, log: Logger): Promise<number> {
  const { redis, nodeId } = state;
  // Jobs the dead process held stay `active` until BullMQ's stalled check fails them
  // (maxStalledCount 0); the claim in Redis keeps them from running again in any case.
  const execQueue = new Queue(nodeQueueName(nodeId), { connection: redis, prefix: BULL_PREFIX });
  let failed = 0;
  try {
    for (const execId of await redis.smembers(redisKeys.nodeExecs(nodeId))) {
      const status = await redis.hget(redisKeys.exec(execId), 'status');
      let lost = status === 'running';
      if (status === 'queued') {
        const jobState = await execQueue.getJobState(jobId('exec', execId));
        lost = !['waiting', 'prioritized', 'delayed', 'waiting-children'].includes(jobState);
      }
      if (status === null) {
        await redis.srem(redisKeys.nodeExecs(nodeId), execId);
        continue;
      }
      if (lost && (await state.finalize(execId, lostOutcome(nodeId)))) {
        failed++;
        log.warn({ execId }, 'exec of the previous run failed: NODE_LOST');
      }
    }
  } finally {
    await execQueue.close();
  }
  return failed;
}

async function closeSessions(state: NodeState): Promise<void> {
  const key = redisKeys.nodeSessions(state.nodeId);
  for (const id of await state.redis.smembers(key)) {
    await state.session(id, '*', 'closed', {
      code: 'NODE_LOST',
      message: `node ${state.nodeId} restarted; the session's shell is gone — open a new session`,
    });
  }
  await state.redis.del(key);
}

export async function recoverNode(
  state: NodeState,
  runtime: NodeRuntime,
  log: Logger,
): Promise<RecoveryReport> {
  const { redis, nodeId } = state;
  const execsFailed = await settleExecs(state, log);
  await closeSessions(state);

  let codebasesRecovered = 0;
  for (const cb of await runtime.codebases.list()) {
    const h = await redis.hmget(redisKeys.codebase(cb.id), 'nodeId', 'state');
    if (h[0] !== nodeId || h[1] === null) continue;
    if (h[1] === 'lost' && (await state.codebase(cb.id, 'lost', 'ready', null))) {
      codebasesRecovered++;
    }
    if (h[1] === 'ready' || h[1] === 'lost')
      await redis.sadd(redisKeys.nodeCodebases(nodeId), cb.id);
  }

  let recovered = 0;
  let lost = 0;
  let removed = 0;
  for (const spec of await runtime.persisted()) {
    const id = spec.sandboxId;
    const [owner, stRaw] = await redis.hmget(redisKeys.sandbox(id), 'nodeId', 'state');
    const st = stRaw ?? null;
    if (owner !== nodeId || st === null || st === 'destroyed' || st === 'failed') {
      await runtime.destroy(id, spec);
      removed++;
      continue;
    }
    try {
      await runtime.open(spec);
    } catch (err) {
      const info = errorInfoOf(err, 're-mounting after a restart');
      log.error({ sandboxId: id, err }, 'sandbox could not be recovered');
      await state.sandbox(id, '*', 'lost', {
        code: 'NODE_LOST',
        message: `node ${nodeId} restarted and could not re-mount the sandbox (${info.message}); create a new one`,
      });
      lost++;
      continue;
    }
    // Back in service, from whatever the janitor or a racing create left.
    const ok =
      st === 'ready' ||
      (await state.sandbox(id, st, 'ready', null)) ||
      (await redis.hget(redisKeys.sandbox(id), 'state')) === 'ready';
    if (ok) {
      await redis.sadd(redisKeys.nodeSandboxes(nodeId), id);
      recovered++;
    } else {
      await runtime.destroy(id, spec);
      removed++;
    }
  }
  return {
    execsFailed,
    sandboxesRecovered: recovered,
    sandboxesLost: lost,
    sandboxesRemoved: removed,
    codebasesRecovered,
    cgroupsRemoved: await runtime.removeStrayCgroups(),
  };
}
