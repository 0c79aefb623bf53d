import { PolicyError } from './errors.ts';
import { isLevel, LEVELS } from './levels.ts';
import type { Rule } from './schema.ts';

/**
 * Parses the command line's rule shorthand `PATTERN=LEVEL[@PRIORITY]` (e.g. `/src/**=write@20`).
 * The last `=` splits, so patterns may contain `=`. The result still goes through compilePolicy's
 * validation; this only reports shorthand that cannot be read at all.
 */
export function parseRuleSpec(spec: string): Rule {
  const eq = spec.lastIndexOf('=');
  if (eq <= 0) throw badSpec(spec, 'expected PATTERN=LEVEL[@PRIORITY], e.g. **/*.pem=none@100');
  const pattern = spec.slice(0, eq);
  const rest = spec.slice(eq + 1);
  const at = rest.indexOf('@');
  const level = at === -1 ? rest : rest.slice(0, at);
  if (!isLevel(level)) throw badSpec(spec, `level must be one of ${LEVELS.join(', ')}`);
  if (at === -1) return { pattern, permission: level };
  const prioText = rest.slice(at + 1);
  if (!/^-?\d+$/.test(prioText)) throw badSpec(spec, 'priority after @ must be an integer');
  return { pattern, permission: level, priority: Number(prioText) };
}

function badSpec(spec: string, why: string): PolicyError {
  return new PolicyError('INVALID_RULE_SPEC', [
    { field: 'rule', message: `${JSON.stringify(spec)}: ${why}` },
  ]);
}
