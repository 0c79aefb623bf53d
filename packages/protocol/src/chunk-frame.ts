// Output chunks travel from a node to its gateway as binary websocket frames: a fixed header and
// the raw bytes, with no base64 (+33 %) and no JSON copy of a 64 KiB string. Every other message
// on the cluster websocket stays JSON (NodeToGatewaySchema), sent as text frames.
//
// Layout: u8 magic 0xC1 | u8 stream (0 stdout, 1 stderr) | u48 BE seq | u8 n | n bytes execId
// (ASCII) | payload (≤ MAX_CHUNK_BYTES).
import { ID_PATTERN } from './ids.ts';
import { MAX_CHUNK_BYTES, type OutputStream } from './output.ts';

const MAGIC = 0xc1;
const HEADER_BYTES = 9;
const MAX_SEQ = 2 ** 48 - 1;

export interface ChunkFrame {
  readonly execId: string;
  readonly seq: number;
  readonly stream: OutputStream;
  /** A view into the frame: copy it if it must outlive the frame's buffer. */
  readonly data: Buffer;
}

/** Bytes of a frame's header for this exec (the payload follows). */
function chunkFrameHeaderBytes(execId: string): number {
  return HEADER_BYTES + execId.length;
}

/** The largest frame: the longest header (a 255-character id) and a full chunk. */
export const MAX_CHUNK_FRAME_BYTES = HEADER_BYTES + 255 + MAX_CHUNK_BYTES;

/**
 * Writes a frame's header at the start of `target` and returns the header's length; the caller
 * puts `dataBytes` of payload right after it. For senders that assemble payloads in reused buffers
 * instead of allocating a frame per chunk.
 */
export function writeChunkFrameHeader(
  target: Buffer,
  f: Omit<ChunkFrame, 'data'>,
  dataBytes: number,
): number {
  if (!ID_PATTERN.test(f.execId)) throw new RangeError(`bad exec id ${f.execId}`);
  if (!Number.isInteger(f.seq) || f.seq < 1 || f.seq > MAX_SEQ) {
    throw new RangeError(`seq ${f.seq} out of range`);
  }
  if (dataBytes > MAX_CHUNK_BYTES) throw new RangeError('chunk larger than MAX_CHUNK_BYTES');
  const headerBytes = chunkFrameHeaderBytes(f.execId);
  if (target.length < headerBytes + dataBytes) throw new RangeError('frame buffer too small');
  target[0] = MAGIC;
  target[1] = f.stream === 'stderr' ? 1 : 0;
  target.writeUIntBE(f.seq, 2, 6);
  target[8] = f.execId.length;
  target.write(f.execId, HEADER_BYTES, 'latin1');
  return headerBytes;
}

/** One allocation: header and payload together, ready for `ws.send`. */
export function encodeChunkFrame(f: ChunkFrame): Buffer {
  const buf = Buffer.allocUnsafe(chunkFrameHeaderBytes(f.execId) + f.data.length);
  f.data.copy(buf, writeChunkFrameHeader(buf, f, f.data.length));
  return buf;
}

/** The frame's fields, or null when it is not a well-formed chunk frame. */
export function decodeChunkFrame(buf: Buffer): ChunkFrame | null {
  if (buf.length < HEADER_BYTES || buf[0] !== MAGIC) return null;
  const streamByte = buf[1];
  if (streamByte !== 0 && streamByte !== 1) return null;
  const seq = buf.readUIntBE(2, 6);
  const idLen = buf[8] ?? 0;
  const dataStart = HEADER_BYTES + idLen;
  if (seq < 1 || buf.length < dataStart || buf.length - dataStart > MAX_CHUNK_BYTES) return null;
  const execId = buf.toString('latin1', HEADER_BYTES, dataStart);
  if (!ID_PATTERN.test(execId)) return null;
  return {
    execId,
    seq,
    stream: streamByte === 1 ? 'stderr' : 'stdout',
    data: buf.subarray(dataStart),
  };
}
