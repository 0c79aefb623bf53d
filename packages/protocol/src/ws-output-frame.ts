// Output on the tRPC websocket, binary form: a client that connects with `?output=binary`
// (`OUTPUT_BINARY_QUERY`) gets each chunk event of `execs.output` as one binary frame — the tRPC
// message as JSON with the chunk's `data` left out, then the chunk's raw bytes — instead of a
// text frame with the bytes as base64 (+33 % bytes, a base64 encode in the gateway, a JSON parse
// of a ~350 KiB string and a base64 decode in the client). Every other message stays a JSON text
// frame, and clients that do not ask keep the plain JSON protocol.
//
// Layout: u8 magic 0xC2 | u32 BE n | n bytes UTF-8 JSON of the tRPC message, in which
// `result.data.data.data` (the tracked chunk event's `data`) is null | the chunk's bytes.

export const OUTPUT_BINARY_QUERY = 'output=binary';

const MAGIC = 0xc2;
const HEADER_BYTES = 5;

interface ChunkEnvelope {
  result: { data: { data: { kind: unknown; data: unknown } } };
}

/** The chunk event inside a tRPC subscription message, or null for any other message. */
export function chunkEventOf(msg: unknown): { kind: unknown; data: unknown } | null {
  const ev = (msg as Partial<ChunkEnvelope> | null)?.result?.data?.data;
  return typeof ev === 'object' && ev !== null && ev.kind === 'chunk' ? ev : null;
}

/**
 * One binary frame for a tRPC message whose chunk event carries `bytes` (the event's own `data`
 * is not serialised). One allocation, ready for `ws.send`.
 */
export function encodeOutputFrame(msg: unknown, bytes: Uint8Array): Buffer {
  const ev = chunkEventOf(msg);
  if (ev === null) throw new TypeError('encodeOutputFrame: not a chunk event message');
  const data = ev.data;
  ev.data = null;
  let json: string;
  try {
    json = JSON.stringify(msg);
  } finally {
    ev.data = data;
  }
  const jsonBytes = Buffer.byteLength(json);
  const buf = Buffer.allocUnsafe(HEADER_BYTES + jsonBytes + bytes.length);
  buf[0] = MAGIC;
  buf.writeUInt32BE(jsonBytes, 1);
  buf.write(json, HEADER_BYTES, 'utf8');
  buf.set(bytes, HEADER_BYTES + jsonBytes);
  return buf;
}

/**
 * The tRPC message of a binary output frame, its chunk event's `data` set to a Buffer viewing
 * the frame's bytes (no copy). Throws on a frame that is not one.
 */
export function decodeOutputFrame(frame: ArrayBuffer | Uint8Array): unknown {
  const buf =
    frame instanceof Uint8Array
      ? Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)
      : Buffer.from(frame);
  if (buf.length < HEADER_BYTES || buf[0] !== MAGIC) {
    throw new Error('binary frame on the tRPC websocket is not a Cordon output frame');
  }
  const jsonBytes = buf.readUInt32BE(1);
  const end = HEADER_BYTES + jsonBytes;
  if (end > buf.length) throw new Error('truncated Cordon output frame');
  const msg: unknown = JSON.parse(buf.toString('utf8', HEADER_BYTES, end));
  const ev = chunkEventOf(msg);
  if (ev === null) throw new Error('Cordon output frame without a chunk event');
  ev.data = buf.subarray(end);
  return msg;
}
