import { createHash } from 'node:crypto';
import { PolicyError } from './errors.ts';
import type { Level } from './levels.ts';
import { RuleIndex } from './matcher.ts';
import { normalizePath } from './path.ts';
import { PRESETS } from './presets.ts';
import { rankRules } from './ranking.ts';
import { canonicalRule, type CanonicalRule } from './rule.ts';
import { parsePolicy, type PolicyInput } from './schema.ts';
import { TraversalOracle } from './traverse.ts';

/** The serialisable, self-contained form of a policy: presets expanded, every field explicit. */
export interface CanonicalPolicy {
  readonly version: 1;
  readonly rules: readonly CanonicalRule[];
}

export interface Explanation {
  readonly level: Level;
  /** The deciding rule, or null when no rule matched and the default (`none`) applied. */
  readonly rule: CanonicalRule | null;
  /** Index of the deciding rule in `canonical.rules`, or -1 for the default. */
  readonly index: number;
}

export interface Policy {
  /** The level of a codebase-relative path (normalised first; `..` throws INVALID_PATH). */
  decide(path: string): Level;
  explain(path: string): Explanation;
  /**
   * Whether a directory must be reachable: its own level is above `none`, or it decides `none`
   * but something below it may be visible (see TraversalOracle for the exact rule). A traversable
   * `none` directory lists only its visible entries.
   */
  canTraverse(dir: string): boolean;
  readonly canonical: CanonicalPolicy;
  /** `sha256:<hex>` of the canonical JSON. Equal hashes ⇔ equal canonical policies. */
  readonly hash: string;
}

export interface CompileOptions {
  /** Memoised decisions kept per policy before the memo is reset. Default 65,536. */
  readonly memoEntries?: number;
}

const NO_MATCH: Explanation = Object.freeze({ level: 'none', rule: null, index: -1 });

/**
 * Compiles a policy from untrusted input (validated here) or from a `canonical` form. Preset rules
 * come first and the caller's rules after them, so on an exact tie a caller's rule wins.
 */
export function compilePolicy(input: unknown, options: CompileOptions = {}): Policy {
  const parsed: PolicyInput = parsePolicy(input);
  const presetRules = parsed.preset ? PRESETS[parsed.preset] : [];
  const rules = [...presetRules, ...(parsed.rules ?? [])].map(canonicalRule);
  const canonical: CanonicalPolicy = Object.freeze({ version: 1, rules: Object.freeze(rules) });
  const hash = 'sha256:' + createHash('sha256').update(JSON.stringify(canonical)).digest('hex');

  const ranked = rankRules(rules);
  const index = new RuleIndex(ranked);
  const oracle = new TraversalOracle(ranked);
  const memoLimit = options.memoEntries ?? 65_536;
  const explained = new Map<string, Explanation>();
  const traversable = new Map<string, boolean>();

  const explain = (rawPath: string): Explanation => {
    const hit = explained.get(rawPath);
    if (hit) return hit;
    const r = index.find(normalizePath(rawPath));
    const result: Explanation = r
      ? { level: r.rule.permission, rule: r.rule, index: r.index }
      : NO_MATCH;
    if (explained.size >= memoLimit) explained.clear();
    explained.set(rawPath, result);
    return result;
  };

  return {
    decide: (path) => explain(path).level,
    explain,
    canTraverse: (rawDir) => {
      const hit = traversable.get(rawDir);
      if (hit !== undefined) return hit;
      const dir = normalizePath(rawDir);
      const result = explain(dir).level !== 'none' || oracle.canReachBelow(dir);
      if (traversable.size >= memoLimit) traversable.clear();
      traversable.set(rawDir, result);
      return result;
    },
    canonical,
    hash,
  };
}

/** Recompiles a canonical policy received over the wire and refuses it if its hash differs. */
export function compileCanonical(canonical: unknown, expectedHash: string): Policy {
  const policy = compilePolicy(canonical);
  if (policy.hash !== expectedHash) {
    throw new PolicyError('INVALID_POLICY', [
      {
        field: 'hash',
        message: `policy hash mismatch (got ${policy.hash}, expected ${expectedHash}); the sender and this node compile rules differently — upgrade both to the same Cordon version`,
      },
    ]);
  }
  return policy;
}
