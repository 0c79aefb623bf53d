// Denial events: bounded (a ring of the newest events) and rate-limited (a token bucket), so a
// runaway sandbox probing paths cannot exhaust memory or flood the gateway.
import type { Level } from '@cordon/policy';

export interface DenialEvent {
  readonly sandboxId: string;
  readonly op: string;
  readonly path: string;
  /** The path's level under the policy. */
  readonly level: Level;
  /** The level the operation needed. */
  readonly required: Level;
  /** Epoch milliseconds. */
  readonly at: number;
}

export interface RateLimit {
  /** Events allowed in a burst. Default 200. */
  readonly burst: number;
  /** Sustained events per second. Default 50. */
  readonly perSecond: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { burst: 200, perSecond: 50 };

export class DenialLimiter {
  readonly #limit: RateLimit;
  #tokens: number;
  #last: number;
  dropped = 0;

  constructor(limit: RateLimit = DEFAULT_RATE_LIMIT) {
    this.#limit = limit;
    this.#tokens = limit.burst;
    this.#last = 0;
  }

  /** True if an event at `nowMs` may be recorded; counts it as dropped otherwise. */
  admit(nowMs: number): boolean {
    const elapsed = Math.max(0, nowMs - this.#last) / 1000;
    this.#last = nowMs;
    this.#tokens = Math.min(this.#limit.burst, this.#tokens + elapsed * this.#limit.perSecond);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    this.dropped++;
    return false;
  }
}

export class AuditBuffer {
  readonly #capacity: number;
  readonly #events: DenialEvent[] = [];
  /** Events admitted but evicted because the buffer was full, plus events the limiter dropped. */
  lost = 0;

  constructor(capacity = 1000) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`audit capacity must be a positive integer, got ${capacity}`);
    }
    this.#capacity = capacity;
  }

  push(event: DenialEvent): void {
    if (this.#events.length >= this.#capacity) {
      this.#events.shift();
      this.lost++;
    }
    this.#events.push(event);
  }

  /** The buffered events, oldest first. */
  list(): readonly DenialEvent[] {
    return [...this.#events];
  }

  /** Returns and removes the buffered events. */
  drain(): DenialEvent[] {
    return this.#events.splice(0, this.#events.length);
  }
}
