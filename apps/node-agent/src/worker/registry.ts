import { redisKeys, type NodeRecord } from '@cordon/protocol';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface RegistryOptions {
  readonly redis: Redis;
  readonly nodeId: string;
  readonly host: string;
  readonly capacity: number;
  readonly version: string;
  readonly allowPaths: readonly string[];
  readonly heartbeatIntervalMs: number;
  /** Liveness key TTL; the gateway declares the node down this long after the last beat. */
  readonly heartbeatTtlMs: number;
  readonly load: () => number;
  readonly log: Logger;
}

/**
 * The node's entry in the registry: a record (rewritten on every beat, carrying `load`) and a
 * liveness key with a TTL. Missing beats expire the key, and gateways' janitors take over.
 */
export class Registration {
  readonly #o: RegistryOptions;
  readonly #startedAtMs = Date.now();
  #timer: NodeJS.Timeout | undefined;

  constructor(o: RegistryOptions) {
    this.#o = o;
  }

  async register(): Promise<void> {
    await this.#beat();
    this.#timer = setInterval(() => {
      this.#beat().catch((err: unknown) => this.#o.log.warn({ err }, 'heartbeat failed'));
    }, this.#o.heartbeatIntervalMs);
  }

  async #beat(): Promise<void> {
    const { redis, nodeId } = this.#o;
    const rec: NodeRecord = {
      id: nodeId,
      host: this.#o.host,
      capacity: this.#o.capacity,
      load: this.#o.load(),
      version: this.#o.version,
      startedAtMs: this.#startedAtMs,
      heartbeatAtMs: Date.now(),
      allowPaths: [...this.#o.allowPaths],
    };
    await redis
      .multi()
      .sadd(redisKeys.nodes(), nodeId)
      .set(redisKeys.node(nodeId), JSON.stringify(rec))
      .set(redisKeys.nodeAlive(nodeId), String(rec.heartbeatAtMs), 'PX', this.#o.heartbeatTtlMs)
      .exec();
  }

  /** Stops beating. `graceful` also drops the liveness key so gateways react at once. */
  async stop(graceful: boolean): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (graceful) await this.#o.redis.del(redisKeys.nodeAlive(this.#o.nodeId));
  }
}
