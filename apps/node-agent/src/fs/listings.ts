// Merged, policy-filtered directory listings kept between readdir calls. A listing depends on the
// policy (fixed per mount), on the delta (changed only by this host's own operations, which forget
// what they touch, see forget()) and on the source directory (changed by anyone): each listing is
// keyed by the inode and change times of the directories it was read from, and a directory changed
// less than RACY_MS ago is never cached — timestamps come from a coarse clock, so a second change
// within the same tick would keep the key and must not be missed (git's "racy" rule).
import type fs from 'node:fs';
import type { Invalidation } from './attr-cache.ts';
import { isWithin, parentOf } from './paths.ts';

const RACY_MS = 1000;
/** Listings kept per mount; the map is cleared when full (a simple bound). */
const MAX_LISTINGS = 4096;

/** The key of a listing read from these directories (undefined: the directory is absent). */
export function listingKey(stats: readonly (fs.Stats | undefined)[]): string {
  return stats.map((s) => (s ? `${s.ino}/${s.ctimeMs}/${s.mtimeMs}` : '-')).join('|');
}

/**
 * True when every directory was last changed at least RACY_MS before `nowMs`, taken before they
 * were stat'ed and read: a later change then gets a different change time, hence another key.
 */
export function settled(stats: readonly (fs.Stats | undefined)[], nowMs: number): boolean {
  return stats.every((s) => !s || (nowMs - s.ctimeMs >= RACY_MS && nowMs - s.mtimeMs >= RACY_MS));
}

export class Listings {
  readonly #map = new Map<string, { key: string; packed: Buffer }>();

  get(dir: string, key: string): Buffer | null {
    const hit = this.#map.get(dir);
    return hit && hit.key === key ? hit.packed : null;
  }

  set(dir: string, key: string, packed: Buffer): void {
    if (this.#map.size >= MAX_LISTINGS) this.#map.clear();
    this.#map.set(dir, { key, packed });
  }

  /** Applies an operation's invalidation: a path's listing and its parent's change with it. */
  forget(inv: Invalidation): void {
    if (inv.kind === 'none') return;
    if (inv.kind === 'all') {
      this.#map.clear();
      return;
    }
    for (const p of inv.paths) {
      this.#map.delete(parentOf(p));
      this.#map.delete(p);
      if (inv.subtree)
        for (const d of [...this.#map.keys()]) if (isWithin(d, p)) this.#map.delete(d);
    }
  }

  clear(): void {
    this.#map.clear();
  }
}
