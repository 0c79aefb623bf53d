import { logRedisErrors, MAX_CHUNK_BYTES, seqOfStreamId } from '@cordon/protocol';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Entries of one stream as ioredis returns them in buffer mode: [id, [field, value, …]]. */
export type StreamEntries = [id: Buffer, fields: Buffer[]][];

export interface SharedOutputReaderOptions {
  /** The gateway's connection; duplicated twice (reads, blocking waits), never used itself. */
  readonly redis: Redis;
  /** Where connection errors of its two connections are logged. */
  readonly log?: Logger;
  /** Longest single XREAD BLOCK; a missed wake-up can delay a waiter at most this long. */
  readonly blockMs?: number;
  /**
   * Upper bound of one blocking read's reply: its COUNT per stream is lowered so that
   * `streams × COUNT × MAX_CHUNK_BYTES` stays under this. Default 16 MiB.
   */
  readonly blockReplyBytes?: number;
  /**
   * A subscriber at the tail of a stream whose chunks this gateway stores (`offer`) first waits
   * this long for the next chunk to be handed over in memory, then reads Redis. Default 50 ms.
   */
  readonly localGraceMs?: number;
}

interface Waiter {
  readonly key: string;
  readonly afterSeq: number;
  readonly count: number;
  readonly deadline: number;
  readonly resolve: (entries: StreamEntries) => void;
  readonly reject: (err: Error) => void;
}

const DEFAULT_BLOCK_MS = 1_000;
/** How long a waiter on a stream stored by this gateway waits for the chunk to be handed over. */
const DEFAULT_LOCAL_GRACE_MS = 50;
/** A stream counts as stored here while its last chunk is at most this old. */
const LOCAL_LIVE_MS = 1_000;
const UNBLOCK_RETRY_MS = 2;

/**
 * Reads exec output streams for every subscriber of this gateway over two Redis connections in
 * all — not one per subscriber: non-blocking XREADs of subscribers with data to catch up on are
 * pipelined on one connection, and subscribers at the tail of their stream wait together in one
 * XREAD BLOCK over all their streams on the other. A subscriber that starts waiting while that
 * read is blocked wakes it with CLIENT UNBLOCK, so the next read includes it. Each subscriber
 * still decides when to read (its own backpressure) and from which seq (resume).
 */
export class SharedOutputReader {
  readonly #reads: Redis;
  readonly #blocker: Redis;
  readonly #blockMs: number;
  readonly #blockReplyBytes: number;
  readonly #waiters = new Set<Waiter>();
  readonly #localGraceMs: number;
  /** Waiters for a hand-over (not in the blocking read), by stream. */
  readonly #local = new Map<string, Set<Waiter>>();
  /** Streams whose chunks this gateway stores, with when it last stored one. */
  readonly #liveHere = new Map<string, number>();
  #blockerId: number | null = null;
  /** Bumped for every blocking read; an unblock only targets the read it was meant for. */
  #generation = 0;
  #blocking = false;
  /** Streams of the blocking read in flight, with the seq it reads after. */
  #blockingAfter = new Map<string, number>();
  #kicked = false;
  #looping = false;
  #closed = false;

  private constructor(o: SharedOutputReaderOptions) {
    this.#reads = o.redis.duplicate({ maxRetriesPerRequest: 1 });
    this.#blocker = o.redis.duplicate({ maxRetriesPerRequest: 1 });
    if (o.log) {
      logRedisErrors(this.#reads, o.log, 'output reads');
      logRedisErrors(this.#blocker, o.log, 'output waits');
    }
    this.#blockMs = o.blockMs ?? DEFAULT_BLOCK_MS;
    this.#blockReplyBytes = o.blockReplyBytes ?? 16 * 1024 * 1024;
    this.#localGraceMs = o.localGraceMs ?? DEFAULT_LOCAL_GRACE_MS;
    // A reconnected blocker has a new client id.
    this.#blocker.on('ready', () => {
      this.#blocker.client('ID').then(
        (id) => (this.#blockerId = Number(id)),
        () => (this.#blockerId = null),
      );
    });
  }

  static async start(o: SharedOutputReaderOptions): Promise<SharedOutputReader> {
    const r = new SharedOutputReader(o);
    r.#blockerId = Number(await r.#blocker.client('ID'));
    return r;
  }

  /** Up to `count` entries of `key` after stream id `after`, without waiting. */
  async read(key: string, after: string, count: number): Promise<StreamEntries> {
    const res = await this.#reads.xreadBuffer('COUNT', count, 'STREAMS', key, after);
    return res?.[0]?.[1] ?? [];
  }

  /**
   * Entries of `key` after `after` (at least one, at most `count`) as soon as there are any; []
   * after `timeoutMs` without any, or when `signal` aborts. Rejects when Redis fails.
   */
  wait(
    key: string,
    after: string,
    count: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<StreamEntries> {
    if (this.#closed) return Promise.reject(new Error('output reader closed'));
    if (signal?.aborted) return Promise.resolve([]);
    return new Promise<StreamEntries>((resolve, reject) => {
      let settled = false;
      let grace: NodeJS.Timeout | undefined;
      const onAbort = () => settle(() => resolve([]));
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        this.#waiters.delete(waiter);
        this.#dropLocal(waiter);
        clearTimeout(grace);
        signal?.removeEventListener('abort', onAbort);
        f();
      };
      const waiter: Waiter = {
        key,
        afterSeq: seqOfStreamId(after),
        count,
        deadline: Date.now() + timeoutMs,
        resolve: (entries) => settle(() => resolve(entries)),
        reject: (err) => settle(() => reject(err)),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const storedAt = this.#liveHere.get(key);
      if (storedAt !== undefined && Date.now() - storedAt <= LOCAL_LIVE_MS) {
        // Chunks of this stream are stored by this gateway: the next one is most likely handed
        // over by `offer` (no Redis read); if not within the grace time, read Redis after all.
        let set = this.#local.get(key);
        if (set === undefined) this.#local.set(key, (set = new Set()));
        set.add(waiter);
        grace = setTimeout(() => {
          if (!settled) this.#toRedis(waiter);
        }, this.#localGraceMs);
      } else {
        this.#toRedis(waiter);
      }
    });
  }

  /**
   * Tells the reader that `entry` (seq `seq`, exactly as XREAD returns it) was just stored in
   * stream `key` by this gateway: waiters right before it get it without reading Redis.
   */
  offer(key: string, seq: number, entry: StreamEntries[number]): void {
    const now = Date.now();
    if (!this.#liveHere.has(key) && this.#liveHere.size >= 10_000) {
      for (const [k, t] of this.#liveHere) if (now - t > LOCAL_LIVE_MS) this.#liveHere.delete(k);
    }
    this.#liveHere.set(key, now);
    const set = this.#local.get(key);
    if (set === undefined) return;
    for (const w of [...set]) if (w.afterSeq === seq - 1) w.resolve([entry]);
  }

  /** The stream's last entry was written (exec settled): its waiters read Redis now. */
  ended(key: string): void {
    this.#liveHere.delete(key);
    const set = this.#local.get(key);
    if (set === undefined) return;
    for (const w of [...set]) this.#toRedis(w);
  }

  #dropLocal(w: Waiter): void {
    const set = this.#local.get(w.key);
    if (set?.delete(w) && set.size === 0) this.#local.delete(w.key);
  }

  /** Puts a waiter into the shared blocking read. */
  #toRedis(waiter: Waiter): void {
    this.#dropLocal(waiter);
    this.#waiters.add(waiter);
    // A stream already in the blocked read from an earlier point needs no kick: whatever this
    // waiter waits for also wakes that read.
    const inFlight = this.#blockingAfter.get(waiter.key);
    if (this.#blocking && (inFlight === undefined || inFlight > waiter.afterSeq)) this.#kick();
    else if (!this.#looping) void this.#loop();
  }

  /** Subscribers waiting at the tail of their stream (for tests and metrics). */
  get waiting(): number {
    let n = this.#waiters.size;
    for (const set of this.#local.values()) n += set.size;
    return n;
  }

  close(): void {
    this.#closed = true;
    for (const w of [...this.#waiters]) w.reject(new Error('output reader closed'));
    for (const set of [...this.#local.values()]) {
      for (const w of [...set]) w.reject(new Error('output reader closed'));
    }
    this.#reads.disconnect();
    this.#blocker.disconnect();
  }

  /** Ends the current blocking read early so the next one includes new waiters. */
  #kick(): void {
    if (this.#kicked) return;
    this.#kicked = true;
    const generation = this.#generation;
    const attempt = async (): Promise<void> => {
      // CLIENT UNBLOCK answers 0 if it reaches Redis before the XREAD it is meant for: retry
      // until that read returned (or was unblocked), else a new waiter could sit out blockMs.
      while (this.#blocking && this.#generation === generation && !this.#closed) {
        const id = this.#blockerId;
        if (id !== null && Number(await this.#reads.client('UNBLOCK', id)) === 1) return;
        await new Promise((r) => setTimeout(r, UNBLOCK_RETRY_MS));
      }
    };
    attempt().catch(() => undefined); // a failed unblock costs at most blockMs of latency
  }

  async #loop(): Promise<void> {
    this.#looping = true;
    try {
      while (this.#waiters.size > 0 && !this.#closed) {
        const batch = [...this.#waiters];
        // One entry per stream: the lowest seq any of its waiters is after.
        const after = new Map<string, number>();
        let count = 1;
        let nearest = Infinity;
        for (const w of batch) {
          const a = after.get(w.key);
          if (a === undefined || w.afterSeq < a) after.set(w.key, w.afterSeq);
          count = Math.max(count, w.count);
          nearest = Math.min(nearest, w.deadline);
        }
        count = Math.max(
          1,
          Math.min(count, Math.floor(this.#blockReplyBytes / (after.size * MAX_CHUNK_BYTES))),
        );
        const blockMs = Math.max(1, Math.min(this.#blockMs, nearest - Date.now()));
        const keys = [...after.keys()];
        const ids = keys.map((k) => `${after.get(k) ?? 0}-0`);
        this.#generation++;
        this.#blocking = true;
        this.#blockingAfter = after;
        this.#kicked = false;
        let res: [Buffer, StreamEntries][] | null;
        try {
          res = await this.#blocker.xreadBuffer(
            'COUNT',
            count,
            'BLOCK',
            blockMs,
            'STREAMS',
            ...keys,
            ...ids,
          );
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          for (const w of batch) w.reject(e);
          continue;
        } finally {
          this.#blocking = false;
        }
        const byKey = new Map<string, StreamEntries>();
        for (const [key, entries] of res ?? []) byKey.set(key.toString('latin1'), entries);
        const now = Date.now();
        for (const w of batch) {
          const entries = byKey.get(w.key);
          const mine = entries
            ?.filter(([id]) => seqOfStreamId(id.toString('latin1')) > w.afterSeq)
            .slice(0, w.count);
          if (mine !== undefined && mine.length > 0) w.resolve(mine);
          else if (w.deadline <= now) w.resolve([]);
        }
      }
    } finally {
      this.#looping = false;
    }
  }
}
