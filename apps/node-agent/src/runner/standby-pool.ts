// A sandbox's standby wrappers (standby.ts): made one at a time in the background, taken oldest
// first (the most likely to have joined its leaf), refilled at moments that keep the making off the
// execs' path.
import type { ExecCgroup, SandboxCgroup } from '../cgroup/types.ts';
import type { SandboxLimits } from './spec.ts';
import type { Standby } from './standby.ts';

/** Pids and memory an idle standby holds in the sandbox's cgroup (bwrap monitor + init, stub). */
const STANDBY_PIDS = 3;
const STANDBY_MEMORY_BYTES = 4 * 1024 * 1024;

/**
 * How many idle standbys the sandbox's limits afford: together they never hold more than 1/8 of
 * its pids limit or 1/16 of its memory limit (the defaults, 512 pids and 1 GiB, afford 16).
 */
export function standbyBudget(limits: SandboxLimits): number {
  return Math.min(
    Math.floor(limits.pids / 8 / STANDBY_PIDS),
    Math.floor(limits.memoryBytes / 16 / STANDBY_MEMORY_BYTES),
  );
}

/** How long a sandbox must have had no exec running before a standby is made in the background. */
export const REFILL_IDLE_MS = 25;

export interface StandbyPoolOptions {
  /** Standbys to keep ready (0: none are made). */
  readonly target: number;
  readonly cgroup: SandboxCgroup;
  /** A fresh exec id (names the standby's leaf). */
  readonly nextExecId: () => string;
  /** `generation`: the pool's at the time (see refresh()). */
  readonly spawn: (execId: string, leaf: ExecCgroup, generation: number) => Promise<Standby>;
  /** Whether no exec of the sandbox is running. */
  readonly idle: () => boolean;
}

export class StandbyPool {
  readonly #opts: StandbyPoolOptions;
  /** Ready standbys, oldest first. */
  readonly #ready: Standby[] = [];
  #making: Promise<void> | null = null;
  #idleTimer: NodeJS.Timeout | null = null;
  #closed = false;
  /** Bumped by refresh(): standbys of an older generation are never handed out. */
  #generation = 0;
  /** Empty leaves of finished execs, ready for the next standbys (see recycle()). */
  readonly #spareLeaves: ExecCgroup[] = [];
  /** recycle() calls still checking their leaf: the next standby waits for them (< 1 ms). */
  readonly #recycling = new Set<Promise<void>>();

  constructor(opts: StandbyPoolOptions) {
    this.#opts = opts;
  }

  /** Starts filling; resolves once the first standby is spawned (not joined). */
  async start(): Promise<void> {
    this.#fill();
    await this.#making;
  }

  /**
   * The oldest usable standby (it is then the caller's), or null. With none ready but one being
   * made, waits for it: never slower than spawning one now (same steps, begun earlier). Taking the
   * last one starts the next at once, so a run of execs does not wait for joins (it competes with
   * the taker for the CPU).
   */
  async take(): Promise<Standby | null> {
    if (this.#ready.length === 0 && this.#making) await this.#making;
    let taken: Standby | null = null;
    for (let s = this.#ready.shift(); s; s = this.#ready.shift()) {
      if (s.usable && s.generation === this.#generation) {
        taken = s;
        break;
      }
      void s.discard().catch(() => undefined);
    }
    if (taken && this.#ready.length === 0) this.#fill();
    return taken;
  }

  /**
   * After an exec: with no standby left, the next exec would wait for one, so it is made now;
   * otherwise once no exec has run for REFILL_IDLE_MS, so that making it (a synchronous spawn in
   * Node, three process start-ups) does not slow an exec issued right after.
   */
  execDone(): void {
    if (this.#ready.length === 0) {
      this.#fill();
      return;
    }
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      // A running exec calls execDone again when it is over.
      if (this.#opts.idle()) this.#fill();
    }, REFILL_IDLE_MS);
    this.#idleTimer.unref();
  }

  /**
   * Discards every standby made or being made so far (the sandbox remounted: their bwrap bound the
   * old mount); the next ones are made as usual.
   */
  refresh(): void {
    this.#generation++;
    for (const s of this.#ready.splice(0)) void s.discard().catch(() => undefined);
    this.#fill();
  }

  /**
   * Takes the leaf of a finished exec (empty: its finish() returned) for a later standby, or
   * removes it: reusing a leaf spares its removal now and the next one's creation. Keeps at most
   * `target` spare leaves.
   */
  recycle(leaf: ExecCgroup): Promise<void> {
    const p = this.#recycle(leaf).finally(() => this.#recycling.delete(p));
    this.#recycling.add(p);
    return p;
  }

  async #recycle(leaf: ExecCgroup): Promise<void> {
    if (!this.#closed && this.#spareLeaves.length < this.#opts.target && (await leaf.reuse())) {
      this.#spareLeaves.push(leaf);
      return;
    }
    await leaf.remove();
  }

  /** Stops making standbys, discards the ready ones and removes the spare leaves. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    await this.#making;
    await Promise.all([
      ...this.#ready.splice(0).map((s) => s.discard().catch(() => undefined)),
      ...this.#spareLeaves.splice(0).map((l) => l.remove().catch(() => undefined)),
    ]);
  }

  /** Makes standbys in the background, one at a time, up to the target. */
  #fill(): void {
    if (this.#closed || this.#making || this.#ready.length >= this.#opts.target) return;
    let made = false;
    const generation = this.#generation;
    this.#making = (async () => {
      const execId = this.#opts.nextExecId();
      if (this.#spareLeaves.length === 0 && this.#recycling.size > 0) {
        await Promise.allSettled([...this.#recycling]);
      }
      const leaf = this.#spareLeaves.pop() ?? (await this.#opts.cgroup.createExec(execId));
      if (this.#closed || generation !== this.#generation) {
        await leaf.remove();
        made = !this.#closed;
        return;
      }
      const standby = await this.#opts
        .spawn(execId, leaf, generation)
        .catch(async (err: unknown) => {
          await leaf.remove();
          throw err;
        });
      if (this.#closed || generation !== this.#generation) {
        await standby.discard();
        made = !this.#closed;
        return;
      }
      this.#ready.push(standby);
      made = true;
    })()
      // A failed attempt leaves no standby; execs then spawn their wrapper themselves and report a
      // cgroup problem as theirs.
      .catch(() => undefined)
      .finally(() => {
        this.#making = null;
        if (made) this.#fill();
      });
  }
}
