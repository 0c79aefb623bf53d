// A stand-in for a node agent's registry entry and output link, for tests that need a lot of
// output (or a live node) without running commands: real Redis records, the real cluster
// websocket protocol (binary chunk frames, acks), no executor.
import {
  encodeChunkFrame,
  GatewayToNodeSchema,
  NODE_ID_HEADER,
  redisKeys,
  START_EXEC_LUA,
  type NodeRecord,
} from '@cordon/protocol';
import type { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { reserveExec } from '../../src/state/execs.ts';

/** Writes a node's registry record and liveness key, as the node agent's heartbeat does. */
export async function heartbeat(redis: Redis, nodeId: string, ttlMs: number): Promise<void> {
  const rec: NodeRecord = {
    id: nodeId,
    host: 'test',
    capacity: 4,
    load: 0,
    version: 'test',
    startedAtMs: Date.now(),
    heartbeatAtMs: Date.now(),
    allowPaths: [],
  };
  await redis
    .multi()
    .sadd(redisKeys.nodes(), nodeId)
    .set(redisKeys.node(nodeId), JSON.stringify(rec))
    .set(redisKeys.nodeAlive(nodeId), String(rec.heartbeatAtMs), 'PX', ttlMs)
    .exec();
}

/** Creates a running exec of `tenantId` on `nodeId` through the gateway's own state module. */
export async function runningExec(
  redis: Redis,
  o: { execId: string; tenantId: string; nodeId: string },
): Promise<void> {
  const ok = await reserveExec(
    redis,
    {
      id: o.execId,
      tenantId: o.tenantId,
      sandboxId: 'sb_test',
      nodeId: o.nodeId,
      argv: ['synthetic'],
      createdAtMs: Date.now(),
    },
    100,
    60_000,
  );
  if (!ok) throw new Error('reserveExec refused');
  const claimed = await redis.eval(
    START_EXEC_LUA,
    1,
    redisKeys.exec(o.execId),
    o.nodeId,
    Date.now(),
  );
  if (claimed !== 1) throw new Error(`could not start exec (${String(claimed)})`);
}

export interface NodeLink {
  /** Sends `totalBytes` of `fill` in 64 KiB chunks, keeping ≤ `windowBytes` unacknowledged. */
  stream(execId: string, totalBytes: number, fill: number, windowBytes?: number): Promise<void>;
  readonly socket: WebSocket;
  close(): void;
}

export async function connectNode(
  clusterUrl: string,
  clusterToken: string,
  nodeId: string,
): Promise<NodeLink> {
  const ws = new WebSocket(clusterUrl, {
    headers: { authorization: `Bearer ${clusterToken}`, [NODE_ID_HEADER]: nodeId },
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const acked = new Map<string, number>();
  let wake: () => void = () => {};
  ws.on('message', (raw: Buffer) => {
    const m = GatewayToNodeSchema.parse(JSON.parse(raw.toString('utf8')));
    if (m.type === 'ack') acked.set(m.execId, m.seq);
    else acked.set(m.execId, Number.MAX_SAFE_INTEGER);
    wake();
  });
  return {
    socket: ws,
    close: () => ws.terminate(),
    async stream(execId, totalBytes, fill, windowBytes = 4 * 1024 * 1024) {
      const chunk = 64 * 1024;
      const data = Buffer.alloc(chunk, fill);
      const inWindow = Math.max(1, Math.floor(windowBytes / chunk));
      let seq = 0;
      for (let sent = 0; sent < totalBytes; sent += chunk) {
        while (seq - (acked.get(execId) ?? 0) >= inWindow) {
          await new Promise<void>((r) => (wake = r));
        }
        seq++;
        const piece = data.subarray(0, Math.min(chunk, totalBytes - sent));
        ws.send(encodeChunkFrame({ execId, seq, stream: 'stdout', data: piece }));
      }
      while ((acked.get(execId) ?? 0) < seq) await new Promise<void>((r) => (wake = r));
    },
  };
}
