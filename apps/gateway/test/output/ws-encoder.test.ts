import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { outputAwareEncoder } from '../../src/output/ws-encoder.ts';

const envelope = (ev: unknown) => ({
  id: 7,
  jsonrpc: '2.0',
  result: { type: 'data', id: '12', data: { id: '12', data: ev } },
});

describe('outputAwareEncoder', () => {
  it('encodes a big chunk event exactly as JSON.stringify does', () => {
    const data = randomBytes(256 * 1024).toString('base64');
    const msg = envelope({ kind: 'chunk', seq: 12, stream: 'stdout', data });
    expect(outputAwareEncoder.encode(msg)).toBe(JSON.stringify(msg));
    // The event is left as it was.
    expect((msg.result.data.data as { data: string }).data).toBe(data);
  });

  it('encodes small chunks, other events and non-data messages with JSON.stringify', () => {
    for (const msg of [
      envelope({ kind: 'chunk', seq: 1, stream: 'stderr', data: 'aGk=' }),
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
