import { z } from 'zod';
import { ExecOutcomeSchema } from './exec.ts';
import { ExecIdSchema } from './ids.ts';

/**
 * Largest decoded payload of one output chunk; bigger writes are split, and a node merges
 * adjacent small writes up to it. 256 KiB: every step downstream (Redis entry, subscriber event,
 * base64, socket write) costs per chunk, and fewer, bigger chunks roughly halve the gateway's CPU
 * per MiB; much bigger ones only grow what each step holds in memory at once.
 */
export const MAX_CHUNK_BYTES = 256 * 1024;
/** base64 length of MAX_CHUNK_BYTES. */
export const MAX_CHUNK_BASE64_CHARS = 4 * Math.ceil(MAX_CHUNK_BYTES / 3);

export const OUTPUT_STREAMS = ['stdout', 'stderr'] as const;
export type OutputStream = (typeof OUTPUT_STREAMS)[number];

/** Bytes as base64, bounded so one chunk never exceeds MAX_CHUNK_BYTES decoded. */
export const ChunkDataSchema = z
  .base64('data must be base64')
  .max(MAX_CHUNK_BASE64_CHARS, `data must decode to at most ${MAX_CHUNK_BYTES} bytes`);

/** One piece of output. `seq` starts at 1 and increases by 1 per chunk of an exec. */
export const OutputChunkSchema = z.strictObject({
  seq: z.int().min(1),
  stream: z.enum(OUTPUT_STREAMS),
  data: ChunkDataSchema,
});
export type OutputChunk = z.output<typeof OutputChunkSchema>;

/**
 * What `execs.output` yields, each tracked by `String(seq)`: chunks in order, a `gap` when the
 * capped stream was trimmed past the resume point, then one `end` carrying the outcome.
 */
export const OutputEventSchema = z.discriminatedUnion('kind', [
  OutputChunkSchema.extend({ kind: z.literal('chunk') }),
  z.strictObject({ kind: z.literal('gap'), seq: z.int(), fromSeq: z.int(), toSeq: z.int() }),
  z.strictObject({ kind: z.literal('end'), seq: z.int(), outcome: ExecOutcomeSchema }),
]);
export type OutputEvent = z.output<typeof OutputEventSchema>;

export const ExecOutputInputSchema = z.strictObject({
  execId: ExecIdSchema,
  /** The last `seq` received (tRPC's wsLink sets this on reconnect); null = from the start. */
  lastEventId: z
    .string()
    .regex(/^\d{1,15}$/, 'lastEventId must be a seq number as received')
    .nullish(),
});

export function decodeChunk(data: string): Buffer {
  return Buffer.from(data, 'base64');
}
