import {
  encodeChunkFrame,
  GatewayToNodeSchema,
  writeChunkFrameHeader,
  MAX_CHUNK_BYTES,
  NODE_ID_HEADER,
  type ErrorInfo,
  type ExecOutcome,
  type NodeToGateway,
  type OutputStream,
} from '@cordon/protocol';
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import { WorkerError } from './errors.ts';
import { FramePool } from './frame-pool.ts';

export interface OutputLinkOptions {
  readonly nodeId: string;
  readonly clusterToken: string;
  /** Unacknowledged bytes per gateway before senders wait. Default 4 MiB. */
  readonly windowBytes?: number;
  /** Longest pause between reconnect attempts. Default 2 000 ms. */
  readonly reconnectMaxMs?: number;
  /** After this long without a connection, pending execs' output fails. Default 30 000 ms. */
  readonly giveUpMs?: number;
  readonly log: Logger;
}

/** Chunks at least this big are framed in a pooled buffer (smaller ones: an exact allocation). */
const POOLED_MIN_BYTES = 16 * 1024;
const DEFAULT_WINDOW_BYTES = 4 * 1024 * 1024;

interface Pending {
  readonly seq: number;
  /** A binary chunk frame (raw bytes, no base64 or JSON copy). */
  readonly frame: Buffer;
  /** Payload bytes: what this chunk counts against the link's window. */
  readonly bytes: number;
  /** The FramePool buffer under `frame`, returned when the gateway acknowledges it. */
  readonly pooled: Buffer | null;
}

/** Output written but not yet framed: consecutive pieces of one stream, merged into one chunk. */
interface Open {
  readonly stream: OutputStream;
  readonly parts: Buffer[];
  bytes: number;
}

/**
 * Output of one exec towards its gateway. Chunks get consecutive seqs from 1 and stay buffered
 * until acknowledged, so a dropped connection resends them (the gateway ignores duplicates).
 *
 * Writes of one stream made within the same event-loop turn are merged into one chunk of up to
 * MAX_CHUNK_BYTES (sent at the next `setImmediate`, or at once when full): a fast producer yields
 * a few big chunks instead of many 64 KiB pipe reads, which is what every later step (Redis entry,
 * subscriber event, base64, socket write) pays per chunk; a trickle of small writes is sent
 * without waiting for more.
 */
export class ExecOutput {
  readonly execId: string;
  readonly #link: GatewayLink;
  #seq = 0;
  readonly pending: Pending[] = [];
  #open: Open | null = null;
  #flushScheduled = false;
  exitFrame: string | null = null;
  rejected: ErrorInfo | null = null;
  #settle: (acked: boolean) => void = () => {};
  readonly settled: Promise<boolean>;

  constructor(link: GatewayLink, execId: string) {
    this.#link = link;
    this.execId = execId;
    this.settled = new Promise((r) => (this.#settle = r));
  }

  get lastSeq(): number {
    return this.#seq;
  }

  /**
   * Sends `data` (kept by reference until framed: do not reuse the buffer), merged with adjacent
   * writes of the same stream and split into wire chunks; waits while the gateway is behind.
   */
  async write(stream: OutputStream, data: Buffer): Promise<void> {
    for (let off = 0; off < data.length; off += MAX_CHUNK_BYTES) {
      await this.#link.room();
      if (this.rejected) throw new WorkerError(this.rejected.code, this.rejected.message);
      const piece = data.subarray(off, off + MAX_CHUNK_BYTES);
      const open = this.#open;
      if (open && (open.stream !== stream || open.bytes + piece.length > MAX_CHUNK_BYTES)) {
        this.#flush();
      }
      const cur = (this.#open ??= { stream, parts: [], bytes: 0 });
      cur.parts.push(piece);
      cur.bytes += piece.length;
      this.#link.reserve(piece.length);
      if (cur.bytes >= MAX_CHUNK_BYTES) this.#flush();
      else if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => {
          this.#flushScheduled = false;
          this.#flush();
        });
      }
    }
  }

  /** Frames the merged output (if any) as the next chunk and sends it. */
  #flush(): void {
    const open = this.#open;
    this.#open = null;
    if (!open || this.rejected) return;
    const seq = ++this.#seq;
    const head = { execId: this.execId, seq, stream: open.stream };
    let frame: Buffer;
    let pooled: Buffer | null = null;
    if (open.bytes < POOLED_MIN_BYTES) {
      const data = open.parts.length === 1 ? (open.parts[0] as Buffer) : Buffer.concat(open.parts);
      frame = encodeChunkFrame({ ...head, data });
    } else {
      pooled = this.#link.pool.acquire();
      let at = writeChunkFrameHeader(pooled, head, open.bytes);
      for (const part of open.parts) at += part.copy(pooled, at);
      frame = pooled.subarray(0, at);
    }
    this.pending.push({ seq, frame, bytes: open.bytes, pooled });
    this.#link.sent(frame);
  }

  /** Sends the outcome; true once the gateway stored it, false if it could not be delivered. */
  finish(outcome: ExecOutcome, timeoutMs: number): Promise<boolean> {
    if (this.rejected) return Promise.resolve(false);
    this.#flush();
    const msg: NodeToGateway = { type: 'exit', execId: this.execId, lastSeq: this.#seq, outcome };
    this.exitFrame = JSON.stringify(msg);
    this.#link.sent(this.exitFrame);
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      this.settled,
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]).finally(() => {
      clearTimeout(timer);
      this.#link.forget(this);
    });
  }

  /** Drops acknowledged chunks; returns the bytes freed. */
  ack(seq: number, final: boolean): number {
    let freed = 0;
    while (this.pending.length && (this.pending[0] as Pending).seq <= seq) {
      const p = this.pending.shift() as Pending;
      freed += p.bytes;
      // Acknowledged: the gateway has every byte, so no socket still reads this buffer.
      if (p.pooled) this.#link.pool.release(p.pooled);
    }
    if (final) this.#settle(true);
    return freed;
  }

  /** Bytes written and not yet acknowledged (sent or still being merged). */
  heldBytes(): number {
    return this.pending.reduce((n, p) => n + p.bytes, 0) + (this.#open?.bytes ?? 0);
  }

  /** Drops everything held. Pooled frames are not reused: a socket may still be writing them. */
  reject(error: ErrorInfo): number {
    this.rejected = error;
    const freed = this.heldBytes();
    this.pending.length = 0;
    this.#open = null;
    this.#settle(false);
    return freed;
  }
}

/** One authenticated websocket to one gateway, shared by every exec that gateway dispatched. */
export class GatewayLink {
  readonly url: string;
  readonly pool: FramePool;
  readonly #o: Required<Omit<OutputLinkOptions, 'log'>> & { log: Logger };
  readonly #execs = new Map<string, ExecOutput>();
  #ws: WebSocket | null = null;
  #open = false;
  #closed = false;
  #unacked = 0;
  #waiters: (() => void)[] = [];
  #downSinceMs = Date.now();
  #retryMs = 50;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(url: string, o: OutputLinkOptions, pool: FramePool) {
    this.url = url;
    this.pool = pool;
    this.#o = {
      nodeId: o.nodeId,
      clusterToken: o.clusterToken,
      windowBytes: o.windowBytes ?? DEFAULT_WINDOW_BYTES,
      reconnectMaxMs: o.reconnectMaxMs ?? 2_000,
      giveUpMs: o.giveUpMs ?? 30_000,
      log: o.log.child({ gateway: url }),
    };
    this.#connect();
  }

  open(execId: string): ExecOutput {
    if (this.#ws === null && this.#retryTimer === undefined && !this.#closed) {
      this.#downSinceMs = Date.now();
      this.#connect();
    }
    const out = new ExecOutput(this, execId);
    this.#execs.set(execId, out);
    return out;
  }

  /** Resolves when the window has room (or throws if the gateway has been unreachable too long). */
  async room(): Promise<void> {
    while (this.#unacked > this.#o.windowBytes && !this.#closed) {
      await new Promise<void>((r) => this.#waiters.push(r));
    }
  }

  /** Counts written bytes against the window as soon as they are accepted (before framing). */
  reserve(bytes: number): void {
    this.#unacked += bytes;
  }

  sent(frame: string | Buffer): void {
    if (this.#open) this.#ws?.send(frame);
  }

  forget(out: ExecOutput): void {
    this.#free(out.heldBytes());
    out.pending.length = 0;
    this.#execs.delete(out.execId);
  }

  #free(bytes: number): void {
    this.#unacked -= bytes;
    if (this.#unacked <= this.#o.windowBytes) {
      const w = this.#waiters;
      this.#waiters = [];
      for (const wake of w) wake();
    }
  }

  #connect(): void {
    if (this.#closed) return;
    const ws = new WebSocket(this.url, {
      headers: {
        authorization: `Bearer ${this.#o.clusterToken}`,
        [NODE_ID_HEADER]: this.#o.nodeId,
      },
      maxPayload: 1024 * 1024,
      // A zero mask makes masking a no-op on both ends (ws skips it), saving a JS pass over every
      // output byte. Masking protects browser traffic from cache-poisoning proxies; this is an
      // authenticated node-to-gateway link.
      generateMask: (mask: Buffer) => void mask.fill(0),
    });
    this.#ws = ws;
    ws.on('open', () => {
      this.#open = true;
      this.#retryMs = 50;
      // Resend everything unacknowledged, in order, before any new frame can go out.
      for (const out of this.#execs.values()) {
        for (const p of out.pending) ws.send(p.frame);
        if (out.exitFrame) ws.send(out.exitFrame);
      }
    });
    ws.on('message', (raw: Buffer) => this.#onMessage(raw));
    ws.on('error', (err) => this.#o.log.debug({ err }, 'gateway link error'));
    ws.on('close', () => {
      if (this.#open) this.#downSinceMs = Date.now();
      this.#open = false;
      this.#ws = null;
      if (this.#closed) return;
      if (Date.now() - this.#downSinceMs > this.#o.giveUpMs) this.#giveUp();
      // Idle links stay down until the next exec needs them.
      if (this.#execs.size === 0) return;
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.#connect();
      }, this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, this.#o.reconnectMaxMs);
    });
  }

  #onMessage(raw: Buffer): void {
    let parsed;
    try {
      parsed = GatewayToNodeSchema.safeParse(JSON.parse(raw.toString('utf8')));
    } catch {
      return;
    }
    if (!parsed.success) return;
    const m = parsed.data;
    const out = this.#execs.get(m.execId);
    if (!out) return;
    switch (m.type) {
      case 'ack':
        this.#free(out.ack(m.seq, m.final));
        return;
      case 'reject':
        this.#o.log.warn({ execId: m.execId, error: m.error }, 'gateway rejected exec output');
        this.#free(out.reject(m.error));
        return;
    }
  }

  #giveUp(): void {
    this.#o.log.error('gateway unreachable; failing pending exec output');
    for (const out of this.#execs.values()) {
      this.#free(
        out.reject({ code: 'INTERNAL', message: `gateway ${this.url} unreachable from the node` }),
      );
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#ws?.terminate();
    for (const out of this.#execs.values()) {
      out.reject({ code: 'INTERNAL', message: 'node agent shutting down' });
    }
    this.#free(this.#unacked);
  }
}

/** Links by gateway URL (each job names its reply address). */
export class OutputLinks {
  readonly #o: OutputLinkOptions;
  readonly #links = new Map<string, GatewayLink>();
  /** Shared by the links: sized for about two windows of full chunks. */
  readonly #pool: FramePool;

  constructor(o: OutputLinkOptions) {
    this.#o = o;
    this.#pool = new FramePool({ keepBytes: 2 * (o.windowBytes ?? DEFAULT_WINDOW_BYTES) });
  }

  open(url: string, execId: string): ExecOutput {
    let link = this.#links.get(url);
    if (!link) {
      link = new GatewayLink(url, this.#o, this.#pool);
      this.#links.set(url, link);
    }
    return link.open(execId);
  }

  close(): void {
    for (const l of this.#links.values()) l.close();
    this.#links.clear();
  }
}
