import { describe, expect, it } from 'vitest';
import { decodeChunkFrame, encodeChunkFrame } from '../src/chunk-frame.ts';
import { MAX_CHUNK_BYTES } from '../src/output.ts';

describe('binary chunk frames', () => {
  it('round-trips exec id, seq, stream and bytes', () => {
    const data = Buffer.from([0, 1, 2, 255, 10]);
    const f = encodeChunkFrame({ execId: 'ex_abc-1.2', seq: 2 ** 40 + 3, stream: 'stderr', data });
    const d = decodeChunkFrame(f);
    expect(d).toEqual({ execId: 'ex_abc-1.2', seq: 2 ** 40 + 3, stream: 'stderr', data });
    expect(
      decodeChunkFrame(
        encodeChunkFrame({ execId: 'e', seq: 1, stream: 'stdout', data: Buffer.alloc(0) }),
      ),
    ).toMatchObject({ seq: 1, stream: 'stdout', data: Buffer.alloc(0) });
  });

  it('rejects malformed frames instead of guessing', () => {
    const good = encodeChunkFrame({
      execId: 'ex1',
      seq: 1,
      stream: 'stdout',
      data: Buffer.from('x'),
    });
    const bad = (mutate: (b: Buffer) => Buffer) => decodeChunkFrame(mutate(Buffer.from(good)));
    expect(bad((b) => (b.writeUInt8(0x7b, 0), b))).toBeNull(); // '{': a JSON frame
    expect(bad((b) => (b.writeUInt8(2, 1), b))).toBeNull(); // unknown stream
    expect(bad((b) => (b.writeUIntBE(0, 2, 6), b))).toBeNull(); // seq 0
    expect(bad((b) => (b.writeUInt8(200, 8), b))).toBeNull(); // id longer than the frame
    expect(bad((b) => (b.write('/', 9, 'latin1'), b))).toBeNull(); // not an id
    expect(bad((b) => b.subarray(0, 5))).toBeNull();
    const big = Buffer.concat([good.subarray(0, 12), Buffer.alloc(MAX_CHUNK_BYTES + 1)]);
    expect(decodeChunkFrame(big)).toBeNull();
    expect(() =>
      encodeChunkFrame({ execId: 'a/b', seq: 1, stream: 'stdout', data: Buffer.alloc(1) }),
    ).toThrow(RangeError);
  });
});
