import { redisKeys } from '@cordon/protocol';
import type { Redis } from 'ioredis';

/** Re-check period when no notification arrives (pub/sub can drop messages across reconnects). */
const RECHECK_MS = 1_000;

/**
 * One pub/sub connection per gateway, fanning `exec:<id>` / `sandbox:<id>` settle notifications out
 * to local waiters, so a waiting call costs no Redis connection of its own.
 */
export class DoneBus {
  readonly #sub: Redis;
  readonly #waiters = new Map<string, Set<() => void>>();

  private constructor(sub: Redis) {
    this.#sub = sub;
    sub.on('message', (_channel: string, message: string) => {
      for (const wake of this.#waiters.get(message) ?? []) wake();
    });
  }

  static async start(redis: Redis): Promise<DoneBus> {
    const sub = redis.duplicate();
    await sub.subscribe(redisKeys.doneChannel());
    return new DoneBus(sub);
  }

  /**
   * Calls `check` until it returns non-null, re-running it on every notification for `key` and at
   * least every second. Returns null after `timeoutMs` or when `signal` aborts.
   */
  async waitFor<T>(
    key: string,
    check: () => Promise<T | null>,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<T | null> {
    const deadline = Date.now() + timeoutMs;
    let wake: () => void = () => {};
    const set = this.#waiters.get(key) ?? new Set();
    this.#waiters.set(key, set);
    const listener = () => wake();
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
        const found = await check();
        if (found !== null) return found;
        const left = deadline - Date.now();
        if (left <= 0 || signal?.aborted) return null;
        if (!notified) {
          let timer: NodeJS.Timeout | undefined;
          const onAbort = () => wake();
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
