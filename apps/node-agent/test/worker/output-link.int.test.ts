// The node's output link against a real websocket server playing the gateway: big chunks are
// framed in reused buffers, and reuse never touches a frame that may still be (re)sent — the
// bytes the gateway receives are exactly the bytes written, across acks and reconnects.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeChunkFrame, MAX_CHUNK_BYTES, type GatewayToNode } from '@cordon/protocol';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { OutputLinks } from '../../src/worker/output-link.ts';

interface FakeGateway {
  readonly url: string;
  /** Chunk payloads by seq, first copy kept (later copies are checked against it). */
  readonly chunks: Map<number, Buffer>;
  readonly mismatches: number[];
  connections: number;
  exited: Promise<void>;
  close(): Promise<void>;
}

/**
 * Acks every `ackEvery` chunks (cumulative, like the gateway) and the exit; on the connection's
 * `dropAfter`-th chunk it terminates the socket without acking, so the node resends.
 */
async function fakeGateway(o: { ackEvery: number; dropAfter?: number }): Promise<FakeGateway> {
  const server: Server = createServer();
  const wss = new WebSocketServer({ server, maxPayload: 2 * MAX_CHUNK_BYTES });
  let onExit: () => void = () => {};
  const g: FakeGateway = {
    url: '',
    chunks: new Map(),
    mismatches: [],
    connections: 0,
    exited: new Promise<void>((r) => (onExit = r)),
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  wss.on('connection', (ws: WebSocket) => {
    const connection = ++g.connections;
    let received = 0;
    const send = (m: GatewayToNode) => ws.send(JSON.stringify(m));
    ws.on('message', (raw: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        const exit = JSON.parse(raw.toString()) as { execId: string; lastSeq: number };
        send({ type: 'ack', execId: exit.execId, seq: exit.lastSeq, final: true });
        onExit();
        return;
      }
      const f = decodeChunkFrame(raw);
      if (f === null) throw new Error('malformed frame');
      const first = g.chunks.get(f.seq);
      if (first === undefined) g.chunks.set(f.seq, Buffer.from(f.data));
      else if (!first.equals(f.data)) g.mismatches.push(f.seq);
      received++;
      if (connection === 1 && received === o.dropAfter) {
        ws.terminate();
        return;
      }
      if (received % o.ackEvery === 0) {
        send({ type: 'ack', execId: f.execId, seq: f.seq, final: false });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return Object.assign(g, {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/cluster`,
  });
}

/** Distinct bytes per piece, so a frame overwritten by a later one cannot go unnoticed. */
function piece(i: number, bytes: number): Buffer {
  const b = Buffer.allocUnsafe(bytes);
  for (let j = 0; j < bytes; j++) b[j] = (i * 31 + j * 7) & 0xff;
  return b;
}

let gateway: FakeGateway | undefined;
let links: OutputLinks | undefined;
beforeEach(() => {
  links = new OutputLinks({
    nodeId: 'n1',
    clusterToken: 'test-token',
    windowBytes: 2 * 1024 * 1024,
    log: pino({ level: 'silent' }),
  });
});
afterEach(async () => {
  links?.close();
  await gateway?.close();
});

async function stream(g: FakeGateway, pieces: number): Promise<Buffer> {
  const out = (links as OutputLinks).open(g.url, 'ex_pool');
  const written: Buffer[] = [];
  for (let i = 0; i < pieces; i++) {
    // 64 KiB pipe reads merged into 256 KiB chunks, plus odd sizes and a small chunk now and then.
    const data = piece(i, i % 7 === 3 ? 1000 : i % 5 === 0 ? 100_000 : 64 * 1024);
    written.push(data);
    await out.write(i % 11 === 10 ? 'stderr' : 'stdout', data);
  }
  const ok = await out.finish({ status: 'exited', result: null, error: null }, 10_000);
  expect(ok).toBe(true);
  return Buffer.concat(written);
}

function received(g: FakeGateway): Buffer {
  const seqs = [...g.chunks.keys()].sort((a, b) => a - b);
  expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  return Buffer.concat(seqs.map((s) => g.chunks.get(s) as Buffer));
}

it('delivers every byte exactly while framing big chunks in reused buffers', async () => {
  gateway = await fakeGateway({ ackEvery: 3 });
  const sent = await stream(gateway, 400);
  expect(received(gateway).equals(sent)).toBe(true);
  expect(gateway.mismatches).toEqual([]);
  expect(gateway.connections).toBe(1);
});

it('resends unacknowledged frames unchanged after the connection drops', async () => {
  gateway = await fakeGateway({ ackEvery: 4, dropAfter: 30 });
  const sent = await stream(gateway, 300);
  expect(gateway.connections).toBeGreaterThan(1);
  expect(received(gateway).equals(sent)).toBe(true);
  // Frames 27–30 were unacknowledged when the socket dropped: resent, and identical.
  expect(gateway.mismatches).toEqual([]);
});
