import { decodeChunk, type ExecOutcome, type OutputEvent } from '@cordon/protocol';
import { TRPCClientError } from '@trpc/client';
import { backoffMs } from './backoff.ts';
import { toCordonError, type CordonError } from './errors.ts';
import type { Transport } from './transport.ts';

/** One piece of live output, or a note that output was lost (the capped stream was trimmed). */
export type ExecEvent =
  | {
      readonly kind: 'stdout' | 'stderr';
      /** 1, 2, 3… per exec; a resumed stream continues after the last seq you received. */
      readonly seq: number;
      readonly data: Buffer;
      /** `data` decoded as UTF-8 (a multi-byte character may straddle two events). */
      readonly text: string;
    }
  | {
      readonly kind: 'gap';
      readonly seq: number;
      readonly fromSeq: number;
      readonly toSeq: number;
    };

export interface OutputStreamOptions {
  /** Resume after this seq (0 = from the start). Default 0. */
  readonly afterSeq?: number;
  /**
   * Buffered, unconsumed output at which the client stops reading (it unsubscribes, and
   * resubscribes from the last seq once the consumer caught up). Default 8 MiB.
   */
  readonly highWaterBytes?: number;
  /** Attempts to resubscribe after errors without progress before giving up. Default 20. */
  readonly maxRetries?: number;
  readonly signal?: AbortSignal;
}

type QueuedEvent =
  | (Omit<Extract<OutputEvent, { kind: 'chunk' }>, 'data'> & { readonly data: Buffer })
  | Exclude<OutputEvent, { kind: 'chunk' }>;

interface Unsubscribable {
  unsubscribe(): void;
}

/**
 * A chunk event's bytes: a Buffer from a binary output frame (the transport's encoder), or
 * base64 text from a gateway that only speaks JSON. tRPC types it as the JSON form (string).
 */
function chunkBytes(data: string | Uint8Array): Buffer {
  return typeof data === 'string' ? decodeChunk(data) : (data as Buffer);
}

/** Errors worth a resubscribe: the connection, not the request (NOT_FOUND, UNAUTHORIZED…). */
function isTransient(err: unknown): boolean {
  if (!(err instanceof TRPCClientError)) return false;
  const data = (err as unknown as { data?: { cordonCode?: unknown } }).data;
  return data?.cordonCode === undefined;
}

/**
 * Live output of an exec as an async iterable that resumes transparently: every event is tracked
 * by seq, and after a broken connection (or a pause for backpressure) the subscription restarts
 * after the last seq delivered, dropping anything already seen. Ends after the `end` event, whose
 * outcome is passed to `onEnd`.
 */
export async function* outputEvents(
  transport: Transport,
  execId: string,
  onEnd: (outcome: ExecOutcome) => void,
  o: OutputStreamOptions = {},
): AsyncGenerator<ExecEvent, void, undefined> {
  const highWater = o.highWaterBytes ?? 8 * 1024 * 1024;
  const maxRetries = o.maxRetries ?? 20;
  let lastSeq = o.afterSeq ?? 0;
  /** Chunk data already as bytes (decoded once, on arrival). */
  const queue: QueuedEvent[] = [];
  let queuedBytes = 0;
  let failure: CordonError | null = null;
  let ended = false;
  const current: { sub: Unsubscribable | null } = { sub: null };
  /** Unsubscribed because the consumer is behind; resubscribes once it caught up. */
  let paused = false;
  let wake: (() => void) | null = null;
  let retries = 0;
  let lastQueuedSeq = lastSeq;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };

  // Never after the transport closed: tRPC's lazy ws client would open a new socket for it, and
  // that socket (with its inactivity timer) kept a finished CLI process alive.
  const resubscribe = () => {
    if (!ended && !paused && failure === null && !transport.closed) subscribe();
  };
  const subscribe = () => {
    const from = lastQueuedSeq;
    const s = transport.trpc.execs.output.subscribe(
      { execId, lastEventId: from > 0 ? String(from) : null },
      {
        onData: ({ data: ev }) => {
          if (ev.seq <= lastQueuedSeq) return; // a resend after a resume
          lastQueuedSeq = ev.seq;
          retries = 0;
          if (ev.kind === 'chunk') {
            const data = chunkBytes(ev.data);
            queue.push({ ...ev, data });
            queuedBytes += data.length;
          } else {
            queue.push(ev);
          }
          if (queuedBytes > highWater && ev.kind !== 'end' && !paused) {
            paused = true;
            s.unsubscribe();
          }
          notify();
        },
        onError: (err) => {
          if (isTransient(err) && retries < maxRetries) {
            retries++;
            setTimeout(resubscribe, backoffMs(retries, 50));
          } else {
            failure = toCordonError(err, transport.endpoints.origin);
          }
          notify();
        },
        onComplete: () => {
          if (transport.closed) {
            // The client was closed under the stream: it ends here, quietly.
            ended = true;
            notify();
            return;
          }
          // Ended without `end` (e.g. the gateway shut down): resume, maybe on another gateway.
          setTimeout(resubscribe, 100);
        },
      },
    );
    current.sub = s;
  };

  const abort = () => {
    current.sub?.unsubscribe();
    notify();
  };
  o.signal?.addEventListener('abort', abort, { once: true });
  // The ws client reconnects and resubscribes forever; a gateway gone for good ends the stream.
  const unwatch = transport.reachability.watch((err) => {
    failure ??= err;
    current.sub?.unsubscribe();
    notify();
  });
  subscribe();
  try {
    for (;;) {
      if (o.signal?.aborted) return;
      const ev = queue.shift();
      if (ev === undefined) {
        // Set by the subscription's callbacks while this loop waited.
        const failed = failure as CordonError | null;
        if (failed) throw failed;
        if (ended) return;
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      if (ev.kind === 'chunk') queuedBytes -= ev.data.length;
      if (paused && queuedBytes <= highWater / 2) {
        paused = false;
        resubscribe();
      }
      lastSeq = ev.seq;
      switch (ev.kind) {
        case 'chunk': {
          const data = ev.data;
          // Decoded on first use: a consumer of bytes should not pay for UTF-8 decoding.
          yield {
            kind: ev.stream,
            seq: ev.seq,
            data,
            get text() {
              return data.toString('utf8');
            },
          };
          break;
        }
        case 'gap':
          yield { kind: 'gap', seq: ev.seq, fromSeq: ev.fromSeq, toSeq: ev.toSeq };
          break;
        case 'end':
          ended = true;
          onEnd(ev.outcome);
          return;
      }
    }
  } finally {
    ended = true;
    unwatch();
    o.signal?.removeEventListener('abort', abort);
    current.sub?.unsubscribe();
  }
}
