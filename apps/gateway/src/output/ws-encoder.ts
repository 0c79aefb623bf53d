import { chunkEventOf, encodeOutputFrame } from '@cordon/protocol';
import type { Encoder } from '@trpc/server/adapters/ws';

/**
 * A chunk's bytes inside an `execs.output` event. Serialises as base64 (so the event's JSON — and
 * its inferred type on clients — has `data: string`), while the binary encoder sends the bytes
 * themselves: the encoding is chosen per connection, after the subscription yielded.
 */
export class ChunkBytes {
  readonly bytes: Buffer;
  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }
  toJSON(): string {
    return this.bytes.toString('base64');
  }
}

/** Chunks smaller than this go through plain JSON.stringify: splicing only pays for big strings. */
const SPLICE_MIN_BYTES = 3072;
/** Stands in for the base64 data while the envelope is stringified; cannot occur in real fields. */
const MARK = '\u0000cordon-chunk-data\u0000';
const MARK_JSON = JSON.stringify(MARK);

function decodeText(data: string | ArrayBuffer | Uint8Array): unknown {
  if (typeof data !== 'string') {
    throw new Error('binary frame on the tRPC websocket; tRPC messages are JSON text frames');
  }
  return JSON.parse(data);
}

/**
 * tRPC's websocket encoder, producing exactly the text the default JSON encoder does (clients
 * keep the default), with one shortcut: a chunk event's base64 `data` (up to 350 KiB) is spliced
 * into the stringified envelope instead of being copied and scanned for escapes by
 * JSON.stringify — base64 never needs escaping. That scan was the gateway's largest JavaScript
 * cost per streamed byte.
 */
export const outputAwareEncoder: Encoder = {
  encode(msg: unknown): string {
    const ev = chunkEventOf(msg);
    if (ev === null) return JSON.stringify(msg);
    const data = ev.data;
    const size = data instanceof ChunkBytes ? data.bytes.length : 0;
    if (size < SPLICE_MIN_BYTES) return JSON.stringify(msg);
    const base64 = (data as ChunkBytes).bytes.toString('base64');
    ev.data = MARK;
    let text: string;
    try {
      text = JSON.stringify(msg);
    } finally {
      ev.data = data;
    }
    const at = text.indexOf(MARK_JSON);
    return `${text.slice(0, at)}"${base64}"${text.slice(at + MARK_JSON.length)}`;
  },
  decode: decodeText,
};

/**
 * The encoder of connections opened with `?output=binary` (@cordon/client): chunk events go as
 * binary output frames (@cordon/protocol `encodeOutputFrame`: the message's JSON without the
 * bytes, then the raw bytes — no base64 anywhere); everything else is the JSON text tRPC sends.
 */
export const binaryOutputEncoder: Encoder = {
  encode(msg: unknown): string | Uint8Array<ArrayBuffer> {
    const ev = chunkEventOf(msg);
    if (ev !== null && ev.data instanceof ChunkBytes) {
      return encodeOutputFrame(msg, ev.data.bytes) as Uint8Array<ArrayBuffer>;
    }
    return JSON.stringify(msg);
  },
  decode: decodeText,
};
