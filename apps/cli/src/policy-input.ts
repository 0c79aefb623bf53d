import { readFile } from 'node:fs/promises';
import {
  compilePolicy,
  parsePolicyFile,
  parseRuleSpec,
  PolicyError,
  PRESET_NAMES,
  type Policy,
  type PolicyIssue,
  type PresetName,
  type Rule,
} from '@cordon/policy';
import { CliError } from './errors.ts';

export interface PolicyFlags {
  readonly preset?: string;
  readonly rule?: readonly string[];
  readonly policy?: string;
}

/** The preset of a command given neither --preset nor --policy: --rule flags refine it. */
export const DEFAULT_PRESET: PresetName = 'agent-safe';

/**
 * Builds the policy the flags describe: a policy file (if any) first, then `--preset` (which
 * replaces the file's preset; DEFAULT_PRESET without a file), then `--rule` flags appended after
 * the file's rules so they win exact ties. Every problem becomes a USAGE error naming the flag or
 * file entry at fault.
 */
export async function policyFromFlags(flags: PolicyFlags): Promise<Policy> {
  let preset: PresetName | undefined;
  const rules: Rule[] = [];
  const fileLabel = `--policy ${flags.policy ?? ''}`;
  if (flags.policy !== undefined) {
    let text: string;
    try {
      text = await readFile(flags.policy, 'utf8');
    } catch (err) {
      throw new CliError(
        'USAGE',
        `${fileLabel}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      );
    }
    const file = guard(
      () => parsePolicyFile(text),
      (i) => (i.index !== undefined ? `${fileLabel} rules[${i.index}]` : fileLabel),
    );
    preset = file.preset;
    rules.push(...(file.rules ?? []));
  }
  if (flags.preset !== undefined) {
    if (!(PRESET_NAMES as readonly string[]).includes(flags.preset)) {
      throw new CliError(
        'USAGE',
        `--preset ${flags.preset}: unknown preset; choose one of ${PRESET_NAMES.join(', ')}`,
      );
    }
    preset = flags.preset as PresetName;
  } else if (flags.policy === undefined) {
    // `--rule '/src/**=write@20'` alone means "agent-safe, and src/ writable" — not "only src/".
    preset = DEFAULT_PRESET;
  }
  const fromFile = rules.length;
  for (const spec of flags.rule ?? [])
    rules.push(
      guard(
        () => parseRuleSpec(spec),
        () => '--rule',
      ),
    );
  return guard(
    () => compilePolicy(preset ? { preset, rules } : { rules }),
    (i) =>
      i.index === undefined
        ? 'policy'
        : i.index < fromFile
          ? `${fileLabel} rules[${i.index}]`
          : `--rule ${flags.rule?.[i.index - fromFile] ?? ''}`,
  );
}

function guard<T>(fn: () => T, locate: (issue: PolicyIssue) => string): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    const lines = err.issues.map((i) => {
      const field = i.field && i.index !== undefined ? `${i.field}: ` : '';
      return `${locate(i)}: ${field}${i.message}`;
    });
    throw new CliError('USAGE', lines.join('\n  '));
  }
}
