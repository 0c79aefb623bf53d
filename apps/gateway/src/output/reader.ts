import {
  ErrorInfoSchema,
  ExecResultSchema,
  redisKeys,
  seqOfStreamId,
  streamId,
  type ExecOutcome,
  type OutputEvent,
} from '@cordon/protocol';
import type { Redis } from 'ioredis';
import type { WebSocket } from 'ws';

export interface ReadOutputOptions {
  readonly redis: Redis;
  readonly execId: string;
  /** Yield events after this seq (0 = from the start). */
  readonly afterSeq: number;
  /** The subscriber's socket: reading pauses while it has more than `highWaterBytes` unsent. */
  readonly socket: WebSocket | null;
  readonly highWaterBytes: number;
  readonly batchEntries: number;
  readonly signal: AbortSignal | undefined;
  /** Called when a blocking read times out with nothing new; false ends the stream. */
  readonly stillExists: () => Promise<boolean>;
}

const BLOCK_MS = 5_000;
const DRAIN_POLL_MS = 5;

/**
 * Events of one exec's capped Redis stream, in seq order, ending after the `end` event. The stream
 * is read at the subscriber's pace: at most `batchEntries` entries are in memory, and no read is
 * made while the subscriber's socket is backed up — so a slow client costs Redis memory (bounded by
 * MAXLEN), not gateway memory. Each reader has its own connection because XREAD BLOCK holds it.
 */
export async function* readOutput(o: ReadOutputOptions): AsyncGenerator<OutputEvent, void> {
  const conn = o.redis.duplicate({ lazyConnect: false, maxRetriesPerRequest: 1 });
  const abort = () => conn.disconnect();
  o.signal?.addEventListener('abort', abort, { once: true });
  const key = redisKeys.execOutput(o.execId);
  let lastId = o.afterSeq > 0 ? streamId(o.afterSeq) : '0-0';
  let expect = o.afterSeq + 1;
  try {
    for (;;) {
      await drained(o);
      if (o.signal?.aborted) return;
      const res = await conn.xread(
        'COUNT',
        o.batchEntries,
        'BLOCK',
        BLOCK_MS,
        'STREAMS',
        key,
        lastId,
      );
      const entries = res?.[0]?.[1] ?? [];
      if (entries.length === 0) {
        if (!(await o.stillExists())) return;
        continue;
      }
      for (const [id, flat] of entries) {
        const seq = seqOfStreamId(id);
        lastId = id;
        const f = fieldsOf(flat);
        if (seq > expect) {
          yield { kind: 'gap', seq: seq - 1, fromSeq: expect, toSeq: seq - 1 };
        }
        expect = seq + 1;
        if (f.k === 'end') {
          yield { kind: 'end', seq, outcome: outcomeOf(f) };
          return;
        }
        yield {
          kind: 'chunk',
          seq,
          stream: f.s === 'stderr' ? 'stderr' : 'stdout',
          data: f.d ?? '',
        };
        await drained(o);
        if (o.signal?.aborted) return;
      }
    }
  } finally {
    o.signal?.removeEventListener('abort', abort);
    conn.disconnect();
  }
}

async function drained(o: ReadOutputOptions): Promise<void> {
  const ws = o.socket;
  while (ws && ws.readyState === ws.OPEN && ws.bufferedAmount > o.highWaterBytes) {
    if (o.signal?.aborted) return;
    await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
  }
}

function fieldsOf(flat: string[]): Record<string, string> {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i] as string] = flat[i + 1] as string;
  return f;
}

function outcomeOf(f: Record<string, string>): ExecOutcome {
  const status = f.status === 'exited' || f.status === 'canceled' ? f.status : 'failed';
  return {
    status,
    result: f.result ? ExecResultSchema.parse(JSON.parse(f.result)) : null,
    error: f.error ? ErrorInfoSchema.parse(JSON.parse(f.error)) : null,
  };
}
