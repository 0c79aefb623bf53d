import picomatch from 'picomatch';
import type { RankedRule } from './ranking.ts';
import { GLOB_OPTIONS, globSource } from './rule.ts';

/**
 * Decides whether a directory whose own level is `none` must still be traversable because
 * something below it may be visible. The exact rule:
 *
 *   dir D is traversable  ⇔  some rule R with a level above `none` could match a path strictly
 *   below D, and no `none` rule that covers D's whole subtree outranks R.
 *
 * "Could match below D": a file rule naming a path under D; a directory rule whose directory is
 * under, at or above D; a glob whose segments can be aligned with D's segments with at least one
 * pattern segment left over (`*`/`?`/classes match one segment, `**` any number).
 * "Covers D's subtree": a `none` directory rule at or above D, or a `none` glob of the form
 * `X/**` or `X/**\/*` (including `**`, `/**`, `**\/*`) whose base X matches D or one of its
 * ancestors. This is an over-approximation only in one direction: a directory may be shown
 * traversable yet turn out empty; a visible file is never unreachable.
 */
export class TraversalOracle {
  readonly #positive: readonly PositiveRule[];
  readonly #covers: readonly CoverRule[];

  constructor(ranked: readonly RankedRule[]) {
    this.#positive = ranked
      .filter((r) => r.rule.permission !== 'none')
      .map((r) => ({ ranked: r, segments: globSegments(r) }));
    this.#covers = ranked.flatMap((r) => coverRule(r) ?? []);
  }

  canReachBelow(dir: string): boolean {
    const cover = this.#coverRank(dir);
    for (const p of this.#positive) {
      if (p.ranked.rank >= cover) return false; // positives are in rank order
      if (couldMatchBelow(p, dir)) return true;
    }
    return false;
  }

  #coverRank(dir: string): number {
    let best = Infinity;
    for (const c of this.#covers) {
      if (c.rank >= best) continue;
      if (c.coversBelow(dir)) best = c.rank;
    }
    return best;
  }
}

interface PositiveRule {
  readonly ranked: RankedRule;
  readonly segments: readonly SegmentMatcher[] | undefined;
}

type SegmentMatcher = '**' | ((segment: string) => boolean);

interface CoverRule {
  readonly rank: number;
  coversBelow(dir: string): boolean;
}

function globSegments(r: RankedRule): SegmentMatcher[] | undefined {
  if (r.rule.type !== 'glob') return undefined;
  const src = globSource(r.rule.pattern);
  // A brace group may hide a `/` ({a/b,c}); splitting it would be wrong, so such globs are
  // treated as "could match anywhere" (the conservative answer).
  if (/\{[^}]*\/[^}]*\}/.test(src)) return ['**'];
  return src.split('/').map((s) => (s === '**' ? '**' : picomatch(s, GLOB_OPTIONS)));
}

function couldMatchBelow(p: PositiveRule, dir: string): boolean {
  const { rule } = p.ranked;
  switch (rule.type) {
    case 'file':
      return isStrictlyBelow(rule.pattern, dir);
    case 'directory': {
      const d = rule.pattern === '/' ? '/' : rule.pattern.slice(0, -1);
      return d === dir || isStrictlyBelow(d, dir) || isStrictlyBelow(dir, d) || d === '/';
    }
    case 'glob':
      return alignBelow(p.segments!, 0, dirSegments(dir), 0);
  }
}

/** Can the pattern segments from `i` match some path that extends `dirSegs` from `j` onwards? */
function alignBelow(
  pat: readonly SegmentMatcher[],
  i: number,
  dirSegs: readonly string[],
  j: number,
): boolean {
  if (j === dirSegs.length) return i < pat.length;
  if (i === pat.length) return false;
  const m = pat[i]!;
  if (m === '**') return alignBelow(pat, i + 1, dirSegs, j) || alignBelow(pat, i, dirSegs, j + 1);
  return m(dirSegs[j]!) && alignBelow(pat, i + 1, dirSegs, j + 1);
}

function coverRule(r: RankedRule): CoverRule | undefined {
  if (r.rule.permission !== 'none') return undefined;
  const { rank } = r;
  if (r.rule.type === 'directory') {
    const d = r.rule.pattern === '/' ? '/' : r.rule.pattern.slice(0, -1);
    return { rank, coversBelow: (dir) => d === '/' || dir === d || isStrictlyBelow(dir, d) };
  }
  if (r.rule.type !== 'glob') return undefined;
  const src = globSource(r.rule.pattern);
  const base = src.endsWith('/**/*')
    ? src.slice(0, -5)
    : src.endsWith('/**')
      ? src.slice(0, -3)
      : src === '**' || src === '**/*'
        ? ''
        : undefined;
  if (base === undefined) return undefined;
  if (base === '' || base === '**') return { rank, coversBelow: () => true };
  const matches = picomatch(base, GLOB_OPTIONS);
  return {
    rank,
    coversBelow: (dir) => {
      const segs = dirSegments(dir);
      for (let n = 1; n <= segs.length; n++) if (matches(segs.slice(0, n).join('/'))) return true;
      return false;
    },
  };
}

function isStrictlyBelow(p: string, dir: string): boolean {
  return dir === '/' ? p !== '/' : p.startsWith(dir + '/');
}

function dirSegments(dir: string): string[] {
  return dir === '/' ? [] : dir.slice(1).split('/');
}
