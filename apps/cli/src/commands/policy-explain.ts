import type { Command } from 'commander';
import { PolicyError, type Explanation } from '@cordon/policy';
import { CliError } from '../errors.ts';
import { policyFromFlags, type PolicyFlags } from '../policy-input.ts';
import { collect } from '../flags.ts';
import type { Io } from '../io.ts';

interface ExplainFlags extends PolicyFlags {
  readonly json?: boolean;
}

export function registerPolicyExplain(policy: Command, io: Io): void {
  policy
    .command('explain')
    .description('show the level an agent gets for each PATH, and the rule that decides it')
    .argument('<path...>', 'codebase-relative paths, e.g. /src/index.ts .env')
    .option(
      '--preset <name>',
      'start from a preset: agent-safe (default without --policy), read-only, full-access, development, view-only',
    )
    .option(
      '--rule <PATTERN=LEVEL[@PRIORITY]>',
      'add a rule (repeatable), e.g. --rule "/src/**=write@20"',
      collect,
    )
    .option('--policy <file>', 'a policy file (YAML or JSON)')
    .option('--json', 'one JSON object per line')
    .addHelpText(
      'after',
      `
Examples:
  $ cordon policy explain --preset agent-safe /src/main.ts /.env /.git/config
  $ cordon policy explain --preset agent-safe --rule '/src/**=write@20' /src/a.ts
  $ cordon policy explain --policy cordon.policy.yaml --json /secrets/key`,
    )
    .action(async (paths: string[], flags: ExplainFlags) => {
      const compiled = await policyFromFlags(flags);
      const rows = paths.map((p) => {
        try {
          return { path: p, ...compiled.explain(p) };
        } catch (err) {
          throw err instanceof PolicyError
            ? new CliError('USAGE', err.issues.map((i) => i.message).join('; '))
            : err;
        }
      });
      const out = flags.json ? rows.map((r) => JSON.stringify(r)) : formatTable(rows);
      io.stdout(out.join('\n') + '\n');
    });
}

function formatTable(rows: ReadonlyArray<Explanation & { path: string }>): string[] {
  const width = Math.max(...rows.map((r) => r.path.length));
  return rows.map((r) => {
    const rule = r.rule
      ? `${r.rule.pattern} (${r.rule.type}, priority ${r.rule.priority}, rule #${r.index})`
      : 'default (no rule matches)';
    return `${r.level.padEnd(5)}  ${r.path.padEnd(width)}  ${rule}`;
  });
}
