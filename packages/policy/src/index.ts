export { LEVELS, isLevel, levelAtLeast, levelRank, type Level } from './levels.ts';
export { PolicyError, type PolicyErrorCode, type PolicyIssue } from './errors.ts';
export { normalizePath } from './path.ts';
export { PRESETS, PRESET_NAMES, type PresetName, type PresetRule } from './presets.ts';
export {
  MAX_PATTERN_BYTES,
  MAX_RULES,
  PolicyInputSchema,
  RULE_TYPES,
  RuleSchema,
  parsePolicy,
  type PolicyInput,
  type Rule,
  type RuleType,
} from './schema.ts';
export type { CanonicalRule } from './rule.ts';
export {
  compileCanonical,
  compilePolicy,
  type CanonicalPolicy,
  type CompileOptions,
  type Explanation,
  type Policy,
} from './compile.ts';
export { parseRuleSpec } from './spec.ts';
export { parsePolicyFile } from './file.ts';
