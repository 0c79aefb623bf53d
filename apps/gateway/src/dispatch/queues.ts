import {
  BULL_PREFIX,
  EXEC_QUEUE_KINDS,
  nodeControlQueueName,
  nodeQueueName,
  type NodeJob,
} from '@cordon/protocol';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * The gateway's producers: per node, an exec queue (execs, session commands, handler runs) and a
 * control queue (codebases, transfers, sandbox create/destroy, session open/close),
 * created on first use. Work for a node only ever goes to its own queues (affinity).
 */
export class NodeQueues {
  readonly #redis: Redis;
  readonly #queues = new Map<string, Queue>();

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  #queue(name: string): Queue {
    let q = this.#queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.#redis, prefix: BULL_PREFIX });
      this.#queues.set(name, q);
    }
    return q;
  }

  execQueue(nodeId: string): Queue {
    return this.#queue(nodeQueueName(nodeId));
  }

  controlQueue(nodeId: string): Queue {
    return this.#queue(nodeControlQueueName(nodeId));
  }

  /** Jobs are removed once done: outcomes live in Cordon's own records, not in BullMQ. */
  async add(nodeId: string, jobId: string, job: NodeJob): Promise<void> {
    const q = EXEC_QUEUE_KINDS.includes(job.kind)
      ? this.execQueue(nodeId)
      : this.controlQueue(nodeId);
    await q.add(job.kind, job, {
      jobId,
      attempts: 1,
      removeOnComplete: true,
      removeOnFail: { count: 1000 },
    });
  }

  /**
   * Best effort removal of a job that should not run (e.g. its exec could not be reserved). A job
   * a worker already holds stays; it finds no claimable exec and does nothing.
   */
  async remove(nodeId: string, jobId: string, kind: NodeJob['kind']): Promise<void> {
    const q = EXEC_QUEUE_KINDS.includes(kind) ? this.execQueue(nodeId) : this.controlQueue(nodeId);
    await q.remove(jobId).catch(() => 0);
  }

  /** Drops a dead node's waiting jobs (its execs and sandboxes are already settled). */
  async drainNode(nodeId: string): Promise<void> {
    await this.execQueue(nodeId).drain(true);
    await this.controlQueue(nodeId).drain(true);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
    this.#queues.clear();
  }
}
