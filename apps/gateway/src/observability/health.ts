import type { Redis } from 'ioredis';
import { listNodes } from '../state/nodes.ts';

export interface Readiness {
  readonly ready: boolean;
  readonly redis: 'ok' | 'unreachable';
  readonly nodesUp: number;
  /** Why the gateway is not ready; empty when ready. */
  readonly reasons: readonly string[];
}

/**
 * Ready = this gateway can do useful work: Redis answers within `timeoutMs` and at least one node
 * agent heartbeats. Liveness (`/healthz`) is only "the process serves HTTP".
 */
export async function readiness(redis: Redis, timeoutMs: number): Promise<Readiness> {
  const timeout = new Promise<never>((_, reject) => {
    setTimeout(() => reject(new Error('timeout')), timeoutMs).unref();
  });
  try {
    await Promise.race([redis.ping(), timeout]);
  } catch {
    return {
      ready: false,
      redis: 'unreachable',
      nodesUp: 0,
      reasons: [`Redis did not answer PING within ${timeoutMs} ms`],
    };
  }
  const nodes = await Promise.race([listNodes(redis), timeout]).catch(() => null);
  const nodesUp = nodes?.filter((n) => n.status === 'up').length ?? 0;
  return {
    ready: nodesUp > 0,
    redis: 'ok',
    nodesUp,
    reasons:
      nodesUp > 0
        ? []
        : ['no live node agent; start one (node apps/node-agent/src/worker/main.ts)'],
  };
}
