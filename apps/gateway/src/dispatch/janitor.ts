import { redisKeys } from '@cordon/protocol';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { finalizeExec } from '../state/execs.ts';
import { transitionCodebase } from '../state/codebases.ts';
import { transitionSandbox } from '../state/sandboxes.ts';
import { transitionSession } from '../state/sessions.ts';
import type { NodeQueues } from './queues.ts';

export interface JanitorOptions {
  readonly redis: Redis;
  readonly queues: NodeQueues;
  readonly intervalMs: number;
  readonly execTtlMs: number;
  readonly log: Logger;
}

/**
 * Detects dead node agents (heartbeat key expired) and settles what they held: pending execs fail
 * with NODE_LOST, sandboxes become `lost`, waiting jobs are dropped. BullMQ alone cannot do this —
 * a job on a per-node queue whose worker died stays `active` forever. Every gateway runs one; all
 * writes are compare-and-set, so concurrent janitors agree.
 */
export class Janitor {
  readonly #o: JanitorOptions;
  readonly #drained = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(o: JanitorOptions) {
    this.#o = o;
  }

  start(): void {
    const tick = () => {
      this.#running = this.sweep()
        .catch((err: unknown) => this.#o.log.error({ err }, 'janitor sweep failed'))
        .finally(() => {
          if (this.#timer !== undefined) this.#timer = setTimeout(tick, this.#o.intervalMs);
        });
    };
    this.#timer = setTimeout(tick, this.#o.intervalMs);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One pass over all registered nodes. Public so tests and tools can force a sweep. */
  async sweep(): Promise<void> {
    const { redis } = this.#o;
    for (const nodeId of await redis.smembers(redisKeys.nodes())) {
      if ((await redis.exists(redisKeys.nodeAlive(nodeId))) === 1) {
        this.#drained.delete(nodeId);
        continue;
      }
      await this.#settleDeadNode(nodeId);
    }
  }

  async #settleDeadNode(nodeId: string): Promise<void> {
    const { redis, log } = this.#o;
    // Sandboxes first: whoever sees an exec fail with NODE_LOST then also sees its sandbox lost.
    const sandboxIds = await redis.smembers(redisKeys.nodeSandboxes(nodeId));
    for (const sandboxId of sandboxIds) {
      await transitionSandbox(redis, sandboxId, '*', 'lost', {
        code: 'NODE_LOST',
        message: `node ${nodeId} stopped heartbeating; the sandbox is back if the node restarts with its data dir, else create a new one`,
      });
    }
    // Codebases are not gone (their files are on the node's disk): lost until it comes back.
    for (const codebaseId of await redis.smembers(redisKeys.nodeCodebases(nodeId))) {
      await transitionCodebase(redis, codebaseId, 'ready', 'lost', {
        code: 'NODE_LOST',
        message: `node ${nodeId} (home of this codebase) stopped heartbeating; it is usable again when the node is back`,
      });
    }
    for (const sessionId of await redis.smembers(redisKeys.nodeSessions(nodeId))) {
      await transitionSession(redis, sessionId, '*', 'closed', {
        code: 'NODE_LOST',
        message: `node ${nodeId} stopped heartbeating; open a new session`,
      });
    }
    await redis.del(redisKeys.nodeSessions(nodeId));
    const execIds = await redis.smembers(redisKeys.nodeExecs(nodeId));
    for (const execId of execIds) {
      const won = await finalizeExec(
        redis,
        { id: execId, nodeId },
        {
          status: 'failed',
          result: null,
          error: {
            code: 'NODE_LOST',
            message: `node ${nodeId} stopped heartbeating while this exec was pending; it may have partly run — check the codebase, then retry on a new sandbox`,
          },
        },
        this.#o.execTtlMs,
      );
      // A record that expired or was never completed still must not pin the node's slot count.
      if (!won) await redis.srem(redisKeys.nodeExecs(nodeId), execId);
      else log.warn({ execId, nodeId }, 'exec failed: NODE_LOST');
    }
    if (!this.#drained.has(nodeId)) {
      await this.#o.queues.drainNode(nodeId);
      this.#drained.add(nodeId);
      log.warn({ nodeId, execs: execIds.length, sandboxes: sandboxIds.length }, 'node down');
    }
  }
}
