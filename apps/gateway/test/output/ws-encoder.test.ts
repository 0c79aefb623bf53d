import { randomBytes } from 'node:crypto';
import { decodeOutputFrame } from '@cordon/protocol';
import { describe, expect, it } from 'vitest';
import {
  binaryOutputEncoder,
  ChunkBytes,
  outputAwareEncoder,
} from '../../src/output/ws-encoder.ts';

const envelope = (ev: unknown) => ({
  id: 7,
  jsonrpc: '2.0',
  result: { type: 'data', id: '12', data: { id: '12', data: ev } },
});

/** What the event's JSON is for any JSON client: ChunkBytes as base64. */
const asJson = (msg: unknown) => JSON.stringify(JSON.parse(JSON.stringify(msg)));

describe('outputAwareEncoder', () => {
  it('encodes a big chunk event exactly as JSON.stringify does, data as base64', () => {
    const bytes = randomBytes(256 * 1024);
    const data = new ChunkBytes(bytes);
    const msg = envelope({ kind: 'chunk', seq: 12, stream: 'stdout', data });
    const text = outputAwareEncoder.encode(msg) as string;
    expect(text).toBe(JSON.stringify(msg));
    expect(text).toBe(asJson(msg));
    const ev = (JSON.parse(text) as typeof msg).result.data.data as { data: string };
    expect(Buffer.from(ev.data, 'base64').equals(bytes)).toBe(true);
    // The event is left as it was.
    expect((msg.result.data.data as { data: unknown }).data).toBe(data);
  });

  it('encodes small chunks, other events and non-data messages with JSON.stringify', () => {
    for (const msg of [
      envelope({
        kind: 'chunk',
        seq: 1,
        stream: 'stderr',
        data: new ChunkBytes(Buffer.from('hi')),
      }),
      envelope({ kind: 'end', seq: 2, outcome: { status: 'exited', result: null, error: null } }),
      { id: 1, error: { message: 'x', code: -32600 } },
      null,
    ]) {
      expect(outputAwareEncoder.encode(msg)).toBe(JSON.stringify(msg));
    }
  });

  it('decodes JSON text and refuses binary frames', () => {
    expect(outputAwareEncoder.decode('{"a":1}')).toEqual({ a: 1 });
    expect(() => outputAwareEncoder.decode(new Uint8Array([1]))).toThrow(/binary/);
  });
});

describe('binaryOutputEncoder', () => {
  it('sends a chunk event as a binary frame that decodes to the same message with raw bytes', () => {
    for (const size of [0, 1, 5000, 256 * 1024]) {
      const bytes = randomBytes(size);
      const msg = envelope({
        kind: 'chunk',
        seq: 3,
        stream: 'stderr',
        data: new ChunkBytes(bytes),
      });
      const frame = binaryOutputEncoder.encode(msg);
      expect(frame).toBeInstanceOf(Uint8Array);
      const frameBytes = frame as Uint8Array;
      // No base64 inside: the frame is the bytes plus a small JSON header.
      expect(frameBytes.length).toBeLessThan(size + 200);
      // As a client receives it (ws binaryType 'arraybuffer').
      const copy = new Uint8Array(frameBytes).buffer;
      const got = decodeOutputFrame(copy) as typeof msg;
      const ev = got.result.data.data as {
        kind: string;
        seq: number;
        stream: string;
        data: Buffer;
      };
      expect(ev).toMatchObject({ kind: 'chunk', seq: 3, stream: 'stderr' });
      expect(Buffer.isBuffer(ev.data) && ev.data.equals(bytes)).toBe(true);
      expect({
        ...got,
        result: { ...got.result, data: { id: '12', data: { ...ev, data: null } } },
      }).toEqual(
        JSON.parse(
          JSON.stringify({
            ...msg,
            result: {
              ...msg.result,
              data: { id: '12', data: { kind: 'chunk', seq: 3, stream: 'stderr', data: null } },
            },
          }),
        ),
      );
      // The event is left as it was.
      expect((msg.result.data.data as { data: ChunkBytes }).data.bytes).toBe(bytes);
    }
  });

  it('sends every other message as the JSON text tRPC sends', () => {
    for (const msg of [
      envelope({ kind: 'end', seq: 2, outcome: { status: 'exited', result: null, error: null } }),
      envelope({ kind: 'gap', seq: 9, fromSeq: 1, toSeq: 9 }),
      { id: 1, error: { message: 'x', code: -32600 } },
      { id: null, method: 'reconnect' },
    ]) {
      expect(binaryOutputEncoder.encode(msg)).toBe(JSON.stringify(msg));
    }
  });

  it('decodes the JSON text clients send and refuses binary frames from clients', () => {
    expect(binaryOutputEncoder.decode('{"id":1}')).toEqual({ id: 1 });
    expect(() => binaryOutputEncoder.decode(new Uint8Array([0xc2, 0, 0, 0, 0]))).toThrow(/binary/);
  });

  it('decodeOutputFrame refuses frames that are not output frames', () => {
    expect(() => decodeOutputFrame(new Uint8Array([1, 2, 3]))).toThrow(/not a Cordon output frame/);
    const bad = Buffer.from([0xc2, 0, 0, 1, 0, 0x7b]);
    expect(() => decodeOutputFrame(bad)).toThrow(/truncated/);
    const noChunk = Buffer.concat([Buffer.from([0xc2, 0, 0, 0, 2]), Buffer.from('{}')]);
    expect(() => decodeOutputFrame(noChunk)).toThrow(/without a chunk event/);
  });
});
