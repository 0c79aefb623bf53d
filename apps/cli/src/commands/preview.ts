import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { Level, Policy } from '@cordon/policy';
import { collect } from '../flags.ts';
import { cwdOf, type Io } from '../io.ts';
import { policyFromFlags, type PolicyFlags } from '../policy-input.ts';
import { parseCount } from '../units.ts';
import { CliError } from '../errors.ts';

interface PreviewFlags extends PolicyFlags {
  readonly showHidden?: boolean;
  readonly depth?: string;
  readonly json?: boolean;
}

interface Row {
  readonly path: string;
  readonly level: Level;
  readonly dir: boolean;
  readonly depth: number;
  readonly last: boolean[];
}

/**
 * The tree an agent with this policy would see: `none` entries do not exist for it (shown only
 * with --show-hidden); a none directory that holds visible entries is still traversable.
 */
async function walk(
  root: string,
  policy: Policy,
  maxDepth: number,
  showHidden: boolean,
): Promise<Row[]> {
  const rows: Row[] = [];
  async function visit(rel: string, depth: number, last: boolean[]): Promise<void> {
    if (depth > maxDepth) return;
    let entries;
    try {
      entries = await readdir(path.join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    const visible = entries
      .map((d) => {
        const p = `${rel}/${d.name}`;
        const dir = d.isDirectory();
        const level = policy.decide(p);
        const shown = level !== 'none' || showHidden || (dir && policy.canTraverse(p));
        return { d, p, dir, level, shown };
      })
      .filter((e) => e.shown)
      .sort((a, b) => (a.d.name < b.d.name ? -1 : 1));
    for (const [i, e] of visible.entries()) {
      const isLast = i === visible.length - 1;
      rows.push({ path: e.p, level: e.level, dir: e.dir, depth, last: [...last, isLast] });
      if (e.dir && (e.level !== 'none' || showHidden || policy.canTraverse(e.p))) {
        await visit(e.p, depth + 1, [...last, isLast]);
      }
    }
  }
  await visit('', 1, []);
  return rows;
}

export function registerPreview(program: Command, io: Io): void {
  program
    .command('preview')
    .description('show the tree of DIR as an agent with this policy would see it, with each level')
    .argument('[dir]', 'the codebase directory (default: the current directory)')
    .option(
      '--preset <name>',
      'start from a preset: agent-safe (default), read-only, full-access, development, view-only',
    )
    .option(
      '--rule <PATTERN=LEVEL[@PRIORITY]>',
      'add a rule (repeatable), e.g. --rule "/src/**=write@20"',
      collect,
    )
    .option('--policy <file>', 'a policy file (YAML or JSON)')
    .option('--show-hidden', 'also show entries the agent cannot see (level none)')
    .option('--depth <n>', 'descend at most this many levels (default: all)')
    .option('--json', 'one JSON object per line: { path, level, dir }')
    .addHelpText(
      'after',
      `
Levels: write (modifiable), read (readable), view (listed, content unreadable), none (does not
exist for the agent). Needs no gateway: it reads DIR and the policy locally.

Examples:
  $ cordon preview --preset agent-safe examples/project
  $ cordon preview --rule '/src/**=write@20' --show-hidden .
  $ cordon preview --policy cordon.policy.yaml --depth 2 --json`,
    )
    .action(async (dir: string | undefined, f: PreviewFlags) => {
      const policy = await policyFromFlags(f);
      const maxDepth = f.depth === undefined ? Infinity : parseCount('--depth', f.depth);
      const root = path.resolve(cwdOf(io), dir ?? '.');
      try {
        await readdir(root);
      } catch (err) {
        throw new CliError(
          'USAGE',
          `${dir ?? '.'}: not a readable directory (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
        );
      }
      const rows = await walk(root, policy, maxDepth, f.showHidden === true);
      if (f.json) {
        io.stdout(
          rows
            .map((r) => JSON.stringify({ path: r.path, level: r.level, dir: r.dir }) + '\n')
            .join(''),
        );
        return;
      }
      const top = policy.decide('/');
      const lines = [`${(top === 'none' ? '' : top).padEnd(5)}  ${dir ?? '.'}/`];
      for (const r of rows) {
        const indent = r.last
          .slice(0, -1)
          .map((l) => (l ? '    ' : '│   '))
          .join('');
        const branch = r.last.at(-1) ? '└── ' : '├── ';
        const name = path.posix.basename(r.path) + (r.dir ? '/' : '');
        lines.push(`${r.level.padEnd(5)}  ${indent}${branch}${name}`);
      }
      io.stdout(lines.join('\n') + '\n');
    });
}
