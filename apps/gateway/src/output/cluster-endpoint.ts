import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  decodeChunkFrame,
  GatewayToNodeSchema,
  MAX_CHUNK_BASE64_CHARS,
  NODE_ID_HEADER,
  NodeIdSchema,
  NodeToGatewaySchema,
  redisKeys,
  type ChunkFrame,
  type GatewayToNode,
  type NodeToGateway,
} from '@cordon/protocol';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { bearerToken } from '../auth/tokens.ts';
import { settleFromNode } from '../state/execs.ts';
import { appendChunk } from './append-chunk.ts';
import { APPEND_RESULT } from './append-script.ts';
import { NO_OUTPUT_OBSERVER, type OutputObserver } from './observer.ts';
import type { SharedOutputReader, StreamEntries } from './shared-reader.ts';

export interface ClusterEndpointOptions {
  readonly redis: Redis;
  readonly clusterToken: string;
  readonly streamMaxEntries: number;
  readonly execTtlMs: number;
  readonly log: Logger;
  /** Send acknowledgements after this many stored frame bytes (and whenever idle). Default 512 KiB. */
  readonly ackEveryBytes?: number;
  /**
   * Frame bytes received from one node but not yet stored before the gateway stops reading that
   * node's socket (TCP backpressure, whatever the node's own window). Default 8 MiB.
   */
  readonly maxInflightBytes?: number;
  readonly observer?: OutputObserver;
  /** Told about every stored chunk, so subscribers of this gateway skip reading it back. */
  readonly outputReader?: SharedOutputReader;
}

// Field names and values of a stored chunk entry, as the append script writes them.
const F_KIND = Buffer.from('k');
const F_CHUNK = Buffer.from('chunk');
const F_STREAM = Buffer.from('s');
const F_STDOUT = Buffer.from('stdout');
const F_STDERR = Buffer.from('stderr');
const F_DATA = Buffer.from('d');

/** The entry XREAD would return for a chunk the append script just stored. */
function storedEntry(m: ChunkFrame): StreamEntries[number] {
  const stream = m.stream === 'stderr' ? F_STDERR : F_STDOUT;
  return [Buffer.from(`${m.seq}-0`), [F_KIND, F_CHUNK, F_STREAM, stream, F_DATA, m.data]];
}

/** A frame is a binary chunk or a legacy JSON chunk (base64, +33 %), plus a small envelope. */
const MAX_FRAME_BYTES = MAX_CHUNK_BASE64_CHARS + 4096;

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

type Exit = NodeToGateway & { type: 'exit' };

/**
 * A text frame: the exit message, or a chunk in the older JSON form (base64 data), which is
 * decoded so Redis always holds raw bytes. Null when malformed.
 */
function parseJsonFrame(raw: Buffer): ChunkFrame | Exit | null {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    return null;
  }
  const parsed = NodeToGatewaySchema.safeParse(json);
  if (!parsed.success) return null;
  const m = parsed.data;
  if (m.type === 'exit') return m;
  return { execId: m.execId, seq: m.seq, stream: m.stream, data: Buffer.from(m.data, 'base64') };
}

/** Per node connection: what is on its way to Redis and which acknowledgements are due. */
interface Conn {
  readonly ws: WebSocket;
  readonly nodeId: string;
  readonly log: Logger;
  inflightBytes: number;
  inflightFrames: number;
  bytesSinceAck: number;
  readonly acks: Map<string, number>;
  failed: boolean;
}

/**
 * The websocket node agents dial to deliver output. Each chunk is written to Redis as soon as its
 * frame arrives, without waiting for the previous reply: one Redis connection executes commands in
 * the order sent, so an exec's chunks (and then its `exit`) are stored in order while Redis round
 * trips overlap. Stored frames are acknowledged every `ackEveryBytes` and whenever nothing is in
 * flight; the node keeps a bounded window of unacknowledged bytes. Independently of the node's
 * window, the gateway stops reading a node's socket while `maxInflightBytes` are unstored, so its
 * own memory on this leg is bounded.
 */
export class ClusterEndpoint {
  readonly #o: ClusterEndpointOptions;
  readonly #wss: WebSocketServer;
  readonly #observer: OutputObserver;
  readonly #ackEveryBytes: number;
  readonly #maxInflightBytes: number;
  #inflightBytes = 0;
  #peakInflightBytes = 0;

  constructor(o: ClusterEndpointOptions) {
    this.#o = o;
    this.#observer = o.observer ?? NO_OUTPUT_OBSERVER;
    this.#ackEveryBytes = o.ackEveryBytes ?? 512 * 1024;
    this.#maxInflightBytes = o.maxInflightBytes ?? 8 * 1024 * 1024;
    // No permessage-deflate (also ws's server default): compressing output would cost more CPU
    // than the rest of the path and keep zlib state per node connection.
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_FRAME_BYTES,
      perMessageDeflate: false,
    });
  }

  /** Frame bytes received from nodes and not yet stored in Redis, over all connections. */
  get inflightBytes(): number {
    return this.#inflightBytes;
  }

  /** Highest `inflightBytes` seen since start. */
  get peakInflightBytes(): number {
    return this.#peakInflightBytes;
  }

  /** Node connections currently open. */
  get connections(): number {
    return this.#wss.clients.size;
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
    const c: Conn = {
      ws,
      nodeId,
      log: this.#o.log.child({ nodeId }),
      inflightBytes: 0,
      inflightFrames: 0,
      bytesSinceAck: 0,
      acks: new Map(),
      failed: false,
    };
    ws.on('message', (raw: Buffer, isBinary: boolean) => this.#receive(c, raw, isBinary));
    ws.on('error', (err) => c.log.warn({ err }, 'node socket error'));
  }

  #receive(c: Conn, raw: Buffer, isBinary: boolean): void {
    if (c.failed) return;
    const m = isBinary ? decodeChunkFrame(raw) : parseJsonFrame(raw);
    if (m === null) {
      c.log.warn('malformed frame from node; closing');
      this.#fail(c, 1008, 'malformed frame');
      return;
    }
    const bytes = raw.length;
    this.#track(c, bytes);
    this.#store(c, m).then(
      () => this.#stored(c, bytes),
      (err: unknown) => {
        this.#untrack(c, bytes);
        if (c.failed) return;
        c.log.error({ err }, 'failed to store node output; closing so the node resends');
        this.#fail(c, 1011, 'store failed');
      },
    );
  }

  #track(c: Conn, bytes: number): void {
    c.inflightBytes += bytes;
    c.inflightFrames++;
    this.#inflightBytes += bytes;
    this.#peakInflightBytes = Math.max(this.#peakInflightBytes, this.#inflightBytes);
    if (c.inflightBytes > this.#maxInflightBytes && !c.ws.isPaused) c.ws.pause();
  }

  #untrack(c: Conn, bytes: number): void {
    c.inflightBytes -= bytes;
    c.inflightFrames--;
    this.#inflightBytes -= bytes;
    if (c.ws.isPaused && c.inflightBytes <= this.#maxInflightBytes / 2) c.ws.resume();
  }

  #stored(c: Conn, bytes: number): void {
    this.#untrack(c, bytes);
    c.bytesSinceAck += bytes;
    if (c.inflightFrames === 0 || c.bytesSinceAck >= this.#ackEveryBytes) this.#flushAcks(c);
  }

  #flushAcks(c: Conn): void {
    c.bytesSinceAck = 0;
    if (c.failed || c.ws.readyState !== c.ws.OPEN) return;
    for (const [execId, seq] of c.acks) this.#send(c, { type: 'ack', execId, seq, final: false });
    c.acks.clear();
  }

  #send(c: Conn, m: GatewayToNode): void {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(GatewayToNodeSchema.parse(m)));
  }

  /** Stops taking frames from a connection whose stream of writes broke; the node resends. */
  #fail(c: Conn, code: number, reason: string): void {
    c.failed = true;
    c.acks.clear();
    c.ws.close(code, reason);
  }

  /** Issues the Redis writes for one frame synchronously (keeping order) and settles when stored. */
  #store(c: Conn, m: ChunkFrame | Exit): Promise<void> {
    if (!('type' in m)) {
      const pending = appendChunk(
        this.#o.redis,
        { nodeId: c.nodeId, maxEntries: this.#o.streamMaxEntries, ttlMs: this.#o.execTtlMs },
        m,
      );
      return pending.then((r) => this.#appended(c, m, r));
    }
    return this.#exit(c, m);
  }

  #appended(c: Conn, m: ChunkFrame, r: unknown): void {
    switch (r) {
      case APPEND_RESULT.stored:
        this.#observer.chunkStored(m.data.length);
        c.acks.set(m.execId, m.seq);
        this.#o.outputReader?.offer(redisKeys.execOutput(m.execId), m.seq, storedEntry(m));
        return;
      case APPEND_RESULT.duplicate:
        c.acks.set(m.execId, m.seq);
        return;
      case APPEND_RESULT.gap:
        throw new Error(
          `exec ${m.execId}: chunk ${m.seq} arrived before an earlier one was stored`,
        );
      case APPEND_RESULT.notStored:
        throw new Error(`exec ${m.execId}: Redis refused chunk ${m.seq}`);
      default:
        c.acks.delete(m.execId);
        this.#send(c, {
          type: 'reject',
          execId: m.execId,
          error:
            r === APPEND_RESULT.wrongNode
              ? {
                  code: 'FORBIDDEN',
                  message: `exec ${m.execId} is not assigned to node ${c.nodeId}`,
                }
              : { code: 'CONFLICT', message: `exec ${m.execId} is no longer running` },
        });
    }
  }

  async #exit(c: Conn, m: Exit): Promise<void> {
    // Issued now, so it runs after every chunk of this exec already sent to Redis. One round trip:
    // owner check, settle (CAS), and the record as it is afterwards.
    const settled = await settleFromNode(
      this.#o.redis,
      c.nodeId,
      m.execId,
      m.outcome,
      this.#o.execTtlMs,
    );
    // The `end` entry (or the first outcome) is in Redis now: local waiters read it there.
    this.#o.outputReader?.ended(redisKeys.execOutput(m.execId));
    if (settled.result === 'wrongNode') {
      this.#send(c, {
        type: 'reject',
        execId: m.execId,
        error: {
          code: 'FORBIDDEN',
          message: `exec ${m.execId} is not assigned to node ${c.nodeId}`,
        },
      });
      return;
    }
    // Lost races (canceled while queued, janitor) leave the first outcome; the node is done either way.
    if (settled.result === 'settled') this.#observer.execEnded(m.outcome);
    this.#observer.execSettled?.(m.execId, settled.hash);
    // Chunk acks of this exec precede the final ack, so the node frees its window in order.
    const seq = c.acks.get(m.execId);
    c.acks.delete(m.execId);
    if (seq !== undefined) this.#send(c, { type: 'ack', execId: m.execId, seq, final: false });
    this.#send(c, { type: 'ack', execId: m.execId, seq: m.lastSeq, final: true });
  }

  close(): void {
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
  }
}
