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
    const info = nodeInfoOf(recRaw, alive, sandboxes, execs);
    if (info) out.push(info);
  });
  return out;
}

/**
 * A node's info from its record (JSON), liveness key count and set sizes, as read by loadNodes or
 * a script (usableSandboxOnNode); null when the record is missing or malformed.
 */
export function nodeInfoOf(
  recRaw: unknown,
  alive: unknown,
  sandboxes: unknown,
  execs: unknown,
): NodeInfo | null {
  if (typeof recRaw !== 'string') return null;
  const rec = NodeRecordSchema.safeParse(JSON.parse(recRaw));
  if (!rec.success) return null;
  return {
    ...rec.data,
    status: Number(alive) === 1 ? 'up' : 'down',
    sandboxes: Number(sandboxes),
    pendingExecs: Number(execs),
  };
}

export async function isNodeAlive(redis: Redis, nodeId: string): Promise<boolean> {
  return (await redis.exists(redisKeys.nodeAlive(nodeId))) === 1;
}
