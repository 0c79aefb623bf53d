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

/** One allocation: header and payload together, ready for `ws.send`. */
export function encodeChunkFrame(f: ChunkFrame): Buffer {
  if (!ID_PATTERN.test(f.execId)) throw new RangeError(`bad exec id ${f.execId}`);
  if (!Number.isInteger(f.seq) || f.seq < 1 || f.seq > MAX_SEQ) {
    throw new RangeError(`seq ${f.seq} out of range`);
  }
  if (f.data.length > MAX_CHUNK_BYTES) throw new RangeError('chunk larger than MAX_CHUNK_BYTES');
  const idLen = f.execId.length;
  const buf = Buffer.allocUnsafe(HEADER_BYTES + idLen + f.data.length);
  buf[0] = MAGIC;
  buf[1] = f.stream === 'stderr' ? 1 : 0;
  buf.writeUIntBE(f.seq, 2, 6);
  buf[8] = idLen;
  buf.write(f.execId, HEADER_BYTES, 'latin1');
  f.data.copy(buf, HEADER_BYTES + idLen);
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
