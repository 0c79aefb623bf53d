import { logRedisErrors, redisKeys } from '@cordon/protocol';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Re-check period when no notification arrives (pub/sub can drop messages across reconnects). */
const RECHECK_MS = 1_000;

/** What a local notification carries (an exec's hash as stored), handed to `accept`. */
export type DonePayload = Readonly<Record<string, string>>;

type Wake = (payload: DonePayload | null) => void;

/**
 * One pub/sub connection per gateway, fanning `exec:<id>` / `sandbox:<id>` settle notifications out
 * to local waiters, so a waiting call costs no Redis connection of its own. Settles stored by this
 * gateway itself are also announced in-process (`notify`), with the stored record, so a waiter on
 * the same gateway answers without the pub/sub hop and without reading the record again; pub/sub
 * still reaches every other gateway.
 */
export class DoneBus {
  readonly #sub: Redis;
  readonly #waiters = new Map<string, Set<Wake>>();
  readonly #listeners = new Set<(message: string) => void>();
  readonly #reconnectListeners = new Set<() => void>();

  private constructor(sub: Redis) {
    this.#sub = sub;
    sub.on('message', (_channel: string, message: string) => {
      for (const wake of this.#waiters.get(message) ?? []) wake(null);
      for (const l of this.#listeners) l(message);
    });
    // Connected and subscribed before this runs (start), so any 'ready' is a reconnection;
    // messages published while the connection was down are lost: let caches start over.
    sub.on('ready', () => {
      for (const l of this.#reconnectListeners) l();
    });
  }

  static async start(redis: Redis, log?: Logger): Promise<DoneBus> {
    const sub = redis.duplicate();
    if (log) logRedisErrors(sub, log, 'done channel');
    await sub.subscribe(redisKeys.doneChannel());
    return new DoneBus(sub);
  }

  /** Every message on the done channel (e.g. token revocations), and resubscriptions. */
  listen(onMessage: (message: string) => void, onReconnect: () => void): () => void {
    this.#listeners.add(onMessage);
    this.#reconnectListeners.add(onReconnect);
    return () => {
      this.#listeners.delete(onMessage);
      this.#reconnectListeners.delete(onReconnect);
    };
  }

  /** Wakes this gateway's waiters for `key` now, with what was just stored. */
  notify(key: string, payload: DonePayload): void {
    for (const wake of this.#waiters.get(key) ?? []) wake(payload);
  }

  /**
   * Calls `check` until it returns non-null, re-running it on every notification for `key` and at
   * least every second. A local notification's payload goes to `accept` first: if it answers
   * non-null, that is the result (no `check`). Returns null after `timeoutMs` or when `signal`
   * aborts.
   */
  async waitFor<T>(
    key: string,
    check: () => Promise<T | null>,
    timeoutMs: number,
    signal?: AbortSignal,
    accept?: (payload: DonePayload) => T | null,
  ): Promise<T | null> {
    const deadline = Date.now() + timeoutMs;
    let wake: Wake = () => {};
    // A holder, not a `let`: it is set from the listener, which flow analysis does not follow.
    const got: { value: T | null } = { value: null };
    const set = this.#waiters.get(key) ?? new Set();
    this.#waiters.set(key, set);
    const listener: Wake = (payload) => {
      if (payload && accept && got.value === null) {
        try {
          got.value = accept(payload);
        } catch {
          // An unreadable payload: the check below reads the record itself.
        }
      }
      wake(payload);
    };
    set.add(listener);
    try {
      for (;;) {
        let notified = false;
        const woken = new Promise<void>((resolve) => {
          wake = () => {
            notified = true;
            resolve();
          };
        });
        if (got.value !== null) return got.value;
        const found = await check();
        if (found !== null) return found;
        if (got.value !== null) return got.value;
        const left = deadline - Date.now();
        if (left <= 0 || signal?.aborted) return null;
        if (!notified) {
          let timer: NodeJS.Timeout | undefined;
          const onAbort = () => wake(null);
          signal?.addEventListener('abort', onAbort, { once: true });
          await Promise.race([
            woken,
            new Promise<void>((r) => (timer = setTimeout(r, Math.min(left, RECHECK_MS)))),
          ]);
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        }
      }
    } finally {
      set.delete(listener);
      if (set.size === 0) this.#waiters.delete(key);
    }
  }

  async close(): Promise<void> {
    this.#sub.disconnect();
    return Promise.resolve();
  }
}
