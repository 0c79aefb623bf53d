import picomatch from 'picomatch';
import type { Level } from './levels.ts';
import { normalizePath } from './path.ts';
import type { Rule, RuleType } from './schema.ts';

/** A rule in the one form both sides of the wire compile: explicit type and priority, normal pattern. */
export interface CanonicalRule {
  readonly pattern: string;
  readonly permission: Level;
  readonly type: RuleType;
  readonly priority: number;
}

const GLOB_META = /[*?[{]/;

// The picomatch options that give our glob dialect: `*` matches dotfiles (a rule must not be
// escaped by naming a file `.x`), no extglobs and no `!` negation (a literal `!` or `@(` in a
// filename must stay literal), case-sensitive.
export const GLOB_OPTIONS: picomatch.PicomatchOptions = {
  dot: true,
  noextglob: true,
  nonegate: true,
  nocase: false,
};

/** Type inference and pattern normalisation. Input must already be schema-valid. */
export function canonicalRule(rule: Rule): CanonicalRule {
  const type = rule.type ?? inferType(rule.pattern);
  return {
    pattern: canonicalPattern(rule.pattern, type),
    permission: rule.permission,
    type,
    priority: rule.priority ?? 0,
  };
}

function inferType(pattern: string): RuleType {
  if (GLOB_META.test(pattern)) return 'glob';
  if (pattern.endsWith('/')) return 'directory';
  return 'file';
}

function canonicalPattern(pattern: string, type: RuleType): string {
  switch (type) {
    case 'file':
      return normalizePath(pattern);
    case 'directory': {
      const dir = normalizePath(pattern);
      return dir === '/' ? '/' : dir + '/';
    }
    case 'glob': {
      const segments = pattern.split('/').filter((s) => s !== '' && s !== '.');
      // A glob naming a directory (`**/node_modules/`) means that directory and everything below,
      // as a directory rule would; left as is it would match nothing, silently.
      if (pattern.endsWith('/') && segments.at(-1) !== '**') segments.push('**');
      const body = segments.join('/');
      return segments[0] === '**' ? body : '/' + body;
    }
  }
}

/** The literal part of a canonical pattern before its first glob metacharacter. */
export function literalPrefix(rule: CanonicalRule): string {
  if (rule.type !== 'glob') return rule.pattern;
  const m = GLOB_META.exec(rule.pattern);
  return m ? rule.pattern.slice(0, m.index) : rule.pattern;
}

/** Glob source relative to the root, as picomatch sees it: parentheses escaped to stay literal. */
export function globSource(canonicalGlob: string): string {
  const rel = canonicalGlob.startsWith('/') ? canonicalGlob.slice(1) : canonicalGlob;
  return rel.replace(/(?<!\\)[()]/g, (c) => '\\' + c);
}

export function compileGlob(canonicalGlob: string): RegExp {
  return picomatch.makeRe(globSource(canonicalGlob), GLOB_OPTIONS);
}
