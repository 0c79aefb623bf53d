import { compileGlob, literalPrefix, type CanonicalRule } from './rule.ts';

export interface RankedRule {
  readonly rule: CanonicalRule;
  /** Position in the canonical rule list (what `explain` reports). */
  readonly index: number;
  /** 0 is the strongest rule; a path's winner is its matching rule of lowest rank. */
  readonly rank: number;
  /** Compiled matcher, for globs only. */
  readonly re: RegExp | undefined;
  /** Literal prefix length and exactness, the specificity tie-breakers. */
  readonly exact: boolean;
  readonly prefixLength: number;
}

const TYPE_WEIGHT = { file: 2, directory: 1, glob: 0 } as const;

/**
 * Orders rules once, at compile time, by the documented winner order: higher priority; then
 * file > directory > glob; then more specific (an exact pattern before a wildcard, then a longer
 * literal prefix); then the later rule in the list. Every tie-breaker is a property of the rule
 * alone, so the order is total and independent of the path being decided.
 */
export function rankRules(rules: readonly CanonicalRule[]): RankedRule[] {
  const entries = rules.map((rule, index) => {
    const prefix = literalPrefix(rule);
    const exact = rule.type === 'file' || (rule.type === 'glob' && prefix === rule.pattern);
    return { rule, index, exact, prefixLength: prefix.length };
  });
  entries.sort(
    (a, b) =>
      b.rule.priority - a.rule.priority ||
      TYPE_WEIGHT[b.rule.type] - TYPE_WEIGHT[a.rule.type] ||
      Number(b.exact) - Number(a.exact) ||
      b.prefixLength - a.prefixLength ||
      b.index - a.index,
  );
  return entries.map((e, rank) => ({
    ...e,
    rank,
    re: e.rule.type === 'glob' ? compileGlob(e.rule.pattern) : undefined,
  }));
}
