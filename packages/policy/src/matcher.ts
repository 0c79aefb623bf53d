import type { RankedRule } from './ranking.ts';

/**
 * Finds the winning rule for a path without testing every rule. File rules are a map lookup;
 * directory rules are looked up for each ancestor-or-self of the path; globs are bucketed by the
 * directory part of their literal prefix (`/src/a/*.ts` → `/src/a`, `**\/*.pem` → `/`), so a path
 * only tests the globs rooted at one of its ancestors, strongest first, stopping at the first hit
 * or as soon as no remaining candidate could beat the best match found.
 */
export class RuleIndex {
  readonly #files = new Map<string, RankedRule>();
  readonly #dirs = new Map<string, RankedRule>();
  readonly #globs = new Map<string, RankedRule[]>();

  constructor(ranked: readonly RankedRule[]) {
    for (const r of ranked) {
      switch (r.rule.type) {
        case 'file':
          keepStrongest(this.#files, r.rule.pattern, r);
          break;
        case 'directory':
          keepStrongest(this.#dirs, dirKey(r.rule.pattern), r);
          break;
        case 'glob': {
          const key = globBucket(r.rule.pattern);
          const bucket = this.#globs.get(key);
          if (bucket) bucket.push(r);
          else this.#globs.set(key, [r]);
          break;
        }
      }
    }
    // `ranked` is in rank order, so each bucket already is.
  }

  /** The strongest rule matching `path` (normal form), or undefined. */
  find(path: string): RankedRule | undefined {
    let best = this.#files.get(path);
    const rel = path.slice(1);
    // Walk ancestors-or-self: '/', '/a', '/a/b', ..., path.
    let end = 0;
    for (;;) {
      const key = end === 0 ? '/' : path.slice(0, end);
      const dir = this.#dirs.get(key);
      if (dir && (!best || dir.rank < best.rank)) best = dir;
      const bucket = this.#globs.get(key);
      if (bucket) {
        for (const r of bucket) {
          if (best && r.rank >= best.rank) break;
          if (r.re!.test(rel)) {
            best = r;
            break;
          }
        }
      }
      if (end === path.length || path === '/') break;
      const next = path.indexOf('/', end + 1);
      end = next === -1 ? path.length : next;
    }
    return best;
  }
}

function keepStrongest(map: Map<string, RankedRule>, key: string, r: RankedRule): void {
  const cur = map.get(key);
  if (!cur || r.rank < cur.rank) map.set(key, r);
}

function dirKey(canonicalDir: string): string {
  return canonicalDir === '/' ? '/' : canonicalDir.slice(0, -1);
}

/** The deepest literal directory a glob is rooted at, in path form. */
export function globBucket(canonicalGlob: string): string {
  if (!canonicalGlob.startsWith('/')) return '/';
  const meta = /[*?[{\\]/.exec(canonicalGlob);
  const literal = meta ? canonicalGlob.slice(0, meta.index) : canonicalGlob;
  const slash = literal.lastIndexOf('/');
  if (!meta) {
    // A glob without wildcards is an exact path: bucket it at itself.
    return literal === '/' ? '/' : literal;
  }
  return slash <= 0 ? '/' : literal.slice(0, slash);
}
