import { parse as parseYaml } from 'yaml';
import { PolicyError } from './errors.ts';
import { parsePolicy, type PolicyInput } from './schema.ts';

/**
 * Reads a policy file's text. YAML is the documented format; JSON is accepted too (it is YAML).
 *
 *   preset: agent-safe        # optional
 *   rules:
 *     - pattern: /src/**
 *       permission: write
 *       priority: 20          # optional, default 0
 *       type: glob            # optional, inferred from the pattern
 */
export function parsePolicyFile(text: string): PolicyInput {
  let data: unknown;
  try {
    data = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new PolicyError('INVALID_POLICY', [
      { field: 'file', message: `not valid YAML or JSON: ${why}` },
    ]);
  }
  return parsePolicy(data ?? {});
}
