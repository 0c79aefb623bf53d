import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  APPEND_CHUNK_LUA,
  GatewayToNodeSchema,
  NODE_ID_HEADER,
  NodeIdSchema,
  NodeToGatewaySchema,
  redisKeys,
  type GatewayToNode,
  type NodeToGateway,
} from '@cordon/protocol';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { bearerToken } from '../auth/tokens.ts';
import { finalizeExec } from '../state/execs.ts';

export interface ClusterEndpointOptions {
  readonly redis: Redis;
  readonly clusterToken: string;
  readonly streamMaxEntries: number;
  readonly execTtlMs: number;
  readonly log: Logger;
}

/** A chunk frame is ≤ 87 KiB of base64 plus a small envelope. */
const MAX_FRAME_BYTES = 256 * 1024;

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * The websocket node agents dial to deliver output. Frames from one node are handled strictly in
 * order (so an exec's `exit` is stored after all its chunks) and acknowledged once stored; the
 * node keeps a bounded window of unacknowledged bytes, which is the backpressure on this leg.
 */
export class ClusterEndpoint {
  readonly #o: ClusterEndpointOptions;
  readonly #wss: WebSocketServer;

  constructor(o: ClusterEndpointOptions) {
    this.#o = o;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const token = bearerToken(req.headers.authorization);
    const nodeId = NodeIdSchema.safeParse(req.headers[NODE_ID_HEADER]);
    if (!token || !sameSecret(token, this.#o.clusterToken) || !nodeId.success) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#serve(ws, nodeId.data));
  }

  #serve(ws: WebSocket, nodeId: string): void {
    const log = this.#o.log.child({ nodeId });
    let chain = Promise.resolve();
    let pending = 0;
    const acks = new Map<string, number>();
    const send = (m: GatewayToNode) => ws.send(JSON.stringify(GatewayToNodeSchema.parse(m)));
    const flushAcks = () => {
      for (const [execId, seq] of acks) send({ type: 'ack', execId, seq, final: false });
      acks.clear();
    };
    ws.on('message', (raw: Buffer) => {
      pending++;
      chain = chain
        .then(async () => {
          const parsed = NodeToGatewaySchema.safeParse(JSON.parse(raw.toString('utf8')));
          if (!parsed.success) {
            log.warn({ issues: parsed.error.issues }, 'malformed frame from node; closing');
            ws.close(1008, 'malformed frame');
            return;
          }
          await this.#handle(parsed.data, nodeId, send, acks);
        })
        .catch((err: unknown) => {
          log.error({ err }, 'failed to store node output; closing so the node resends');
          ws.close(1011, 'store failed');
        })
        .finally(() => {
          pending--;
          if (pending === 0 && ws.readyState === ws.OPEN) flushAcks();
        });
    });
    ws.on('error', (err) => log.warn({ err }, 'node socket error'));
  }

  async #handle(
    m: NodeToGateway,
    nodeId: string,
    send: (m: GatewayToNode) => void,
    acks: Map<string, number>,
  ): Promise<void> {
    switch (m.type) {
      case 'chunk': {
        const r = await this.#o.redis.eval(
          APPEND_CHUNK_LUA,
          2,
          redisKeys.exec(m.execId),
          redisKeys.execOutput(m.execId),
          nodeId,
          m.seq,
          m.stream,
          m.data,
          this.#o.streamMaxEntries,
          this.#o.execTtlMs,
        );
        if (r === 1 || r === 0) {
          acks.set(m.execId, m.seq);
        } else {
          acks.delete(m.execId);
          send({
            type: 'reject',
            execId: m.execId,
            error:
              r === -2
                ? {
                    code: 'FORBIDDEN',
                    message: `exec ${m.execId} is not assigned to node ${nodeId}`,
                  }
                : { code: 'CONFLICT', message: `exec ${m.execId} is no longer running` },
          });
        }
        return;
      }
      case 'exit': {
        const owner = await this.#o.redis.hget(redisKeys.exec(m.execId), 'nodeId');
        if (owner !== nodeId) {
          send({
            type: 'reject',
            execId: m.execId,
            error: {
              code: 'FORBIDDEN',
              message: `exec ${m.execId} is not assigned to node ${nodeId}`,
            },
          });
          return;
        }
        // Lost races (canceled while queued, janitor) leave the first outcome; the node is done either way.
        await finalizeExec(this.#o.redis, { id: m.execId, nodeId }, m.outcome, this.#o.execTtlMs);
        acks.delete(m.execId);
        send({ type: 'ack', execId: m.execId, seq: m.lastSeq, final: true });
        return;
      }
    }
  }

  close(): void {
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
  }
}
