import { z } from 'zod';
import { PolicyError, type PolicyIssue } from './errors.ts';
import { LEVELS } from './levels.ts';
import { PRESET_NAMES } from './presets.ts';

export const MAX_RULES = 10_000;
export const MAX_PATTERN_BYTES = 4_096;
export const RULE_TYPES = ['file', 'directory', 'glob'] as const;
export type RuleType = (typeof RULE_TYPES)[number];

export const RuleSchema = z.strictObject({
  pattern: z
    .string()
    .min(
      1,
      'pattern is empty; give a path like /src/main.ts, a directory like /docs/, or a glob like **/*.pem',
    )
    .refine((p) => Buffer.byteLength(p) <= MAX_PATTERN_BYTES, {
      message: `pattern is longer than ${MAX_PATTERN_BYTES} bytes`,
    })
    .refine((p) => !p.includes('\0'), { message: 'pattern contains a NUL byte' })
    .refine((p) => !p.split('/').includes('..'), {
      message:
        "pattern contains '..'; patterns are codebase-relative and cannot leave the codebase",
    }),
  permission: z.enum(LEVELS, { error: `permission must be one of ${LEVELS.join(', ')}` }),
  type: z.enum(RULE_TYPES, { error: `type must be one of ${RULE_TYPES.join(', ')}` }).optional(),
  priority: z
    .number({ error: 'priority must be an integer' })
    .int('priority must be an integer')
    .min(-1_000_000_000, 'priority must be between -1e9 and 1e9')
    .max(1_000_000_000, 'priority must be between -1e9 and 1e9')
    .optional(),
});
export type Rule = z.infer<typeof RuleSchema>;

export const PolicyInputSchema = z.strictObject({
  preset: z
    .enum(PRESET_NAMES, { error: `preset must be one of ${PRESET_NAMES.join(', ')}` })
    .optional(),
  rules: z
    .array(RuleSchema, { error: 'rules must be an array of rules' })
    .max(MAX_RULES, `more than ${MAX_RULES} rules; merge rules with globs`)
    .optional(),
  // Present in canonical policies so they round-trip through compilePolicy; only version 1 exists.
  version: z.literal(1).optional(),
});
export type PolicyInput = z.infer<typeof PolicyInputSchema>;

/**
 * Validates untrusted input (parsed JSON/YAML, a request body) as a policy. Throws a PolicyError
 * whose issues name the rule index and field of every problem found.
 */
export function parsePolicy(input: unknown): PolicyInput {
  const result = PolicyInputSchema.safeParse(input);
  if (result.success) return result.data;
  throw new PolicyError('INVALID_POLICY', result.error.issues.map(toIssue));
}

function toIssue(issue: z.core.$ZodIssue): PolicyIssue {
  const [top, index, field] = issue.path;
  if (top === 'rules' && typeof index === 'number') {
    const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : undefined;
    if (unknownKeys) {
      return {
        index,
        field: unknownKeys.join(','),
        message: `unknown field ${unknownKeys.map((k) => JSON.stringify(k)).join(', ')}; a rule has pattern, permission, type and priority`,
      };
    }
    return field === undefined
      ? { index, message: issue.message }
      : { index, field: String(field), message: issue.message };
  }
  if (issue.code === 'unrecognized_keys') {
    return {
      field: issue.keys.join(','),
      message: `unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; a policy has preset and rules`,
    };
  }
  return top === undefined
    ? { message: issue.message }
    : { field: String(top), message: issue.message };
}
