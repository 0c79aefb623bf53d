import { NodeRecordSchema, redisKeys, type NodeInfo } from '@cordon/protocol';
import type { Redis } from 'ioredis';

/** Every node that ever registered, with liveness (`up` while its heartbeat key exists). */
export async function listNodes(redis: Redis): Promise<NodeInfo[]> {
  return loadNodes(redis, (await redis.smembers(redisKeys.nodes())).sort());
}

export async function getNode(redis: Redis, nodeId: string): Promise<NodeInfo | null> {
  return (await loadNodes(redis, [nodeId]))[0] ?? null;
}

async function loadNodes(redis: Redis, ids: readonly string[]): Promise<NodeInfo[]> {
  if (ids.length === 0) return [];
  const p = redis.pipeline();
  for (const id of ids) {
    p.get(redisKeys.node(id));
    p.exists(redisKeys.nodeAlive(id));
    p.scard(redisKeys.nodeSandboxes(id));
    p.scard(redisKeys.nodeExecs(id));
  }
  const rows = (await p.exec()) ?? [];
  const out: NodeInfo[] = [];
  ids.forEach((_, i) => {
    const [recRaw, alive, sandboxes, execs] = rows.slice(i * 4, i * 4 + 4).map((r) => r[1]);
    if (typeof recRaw !== 'string') return;
    const rec = NodeRecordSchema.safeParse(JSON.parse(recRaw));
    if (!rec.success) return;
    out.push({
      ...rec.data,
      status: alive === 1 ? 'up' : 'down',
      sandboxes: Number(sandboxes),
      pendingExecs: Number(execs),
    });
  });
  return out;
}

export async function isNodeAlive(redis: Redis, nodeId: string): Promise<boolean> {
  return (await redis.exists(redisKeys.nodeAlive(nodeId))) === 1;
}
