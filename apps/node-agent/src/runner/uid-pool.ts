// Per-sandbox host uids. Each sandbox runs as its own uid (gid = uid), so sandboxes cannot signal,
// ptrace or read each other's files, and a file created in one is visibly not the other's. The
// range sits above the usual subuid ranges (100000 + 65536·n for a few users) and below the
// 32-bit nobody/overflow ids; the uids need no passwd entry on the host.
import { RunnerError } from './errors.ts';

export const SANDBOX_UID_BASE = 2_000_000;
export const SANDBOX_UID_COUNT = 65_536;

export class UidPool {
  readonly #base: number;
  readonly #count: number;
  readonly #inUse = new Set<number>();
  #next = 0;

  constructor(base = SANDBOX_UID_BASE, count = SANDBOX_UID_COUNT) {
    if (!Number.isInteger(base) || base <= 0 || !Number.isInteger(count) || count <= 0) {
      throw new RunnerError(
        'INVALID_SPEC',
        `uid range must be positive integers, got base ${base} count ${count}`,
      );
    }
    this.#base = base;
    this.#count = count;
  }

  /** A free uid (used as the gid too). Throws when the range is exhausted. */
  acquire(): number {
    for (let i = 0; i < this.#count; i++) {
      const uid = this.#base + ((this.#next + i) % this.#count);
      if (!this.#inUse.has(uid)) {
        this.#inUse.add(uid);
        this.#next = (this.#next + i + 1) % this.#count;
        return uid;
      }
    }
    throw new RunnerError(
      'INVALID_SPEC',
      `all ${this.#count} sandbox uids from ${this.#base} are in use; close sandboxes or widen the range`,
    );
  }

  release(uid: number): void {
    this.#inUse.delete(uid);
  }
}
