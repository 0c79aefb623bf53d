import type { Command } from 'commander';
import { connect } from '../connect.ts';
import { envOf, isTty, type Io } from '../io.ts';
import { addSandboxFlags, sandboxOptionsOf, type SandboxFlags } from '../sandbox-flags.ts';
import { progress } from '../ui/spinner.ts';
import { ago, table } from '../ui/table.ts';
import { formatBytes } from '../units.ts';

interface CreateFlags extends SandboxFlags {
  readonly dir?: string;
  readonly upload?: boolean;
  readonly json?: boolean;
}

export function registerSandbox(program: Command, io: Io): void {
  const sandbox = program.command('sandbox').description('create, list and remove sandboxes');

  addSandboxFlags(
    sandbox
      .command('create')
      .description(
        'create a sandbox on a local directory (or an empty scratch codebase) and print its id',
      ),
    false,
  )
    .option('--dir <dir>', 'the codebase: this local directory (in place, or uploaded)')
    .option('--upload', 'upload --dir even when a local node agent could use it in place')
    .option('--json', 'print the sandbox record as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ cordon sandbox create --dir . --preset agent-safe
  $ cordon sandbox create --dir ./project --rule '/src/**=write@20' --memory 2g
  $ cordon sandbox create --preset full-access          # empty scratch codebase`,
    )
    .action(async (f: CreateFlags) => {
      const { options } = await sandboxOptionsOf(f);
      const conn = await connect({ env: envOf(io) });
      const spin = progress(io.stderr, isTty(io), f.json === true);
      try {
        spin.update('creating the sandbox…');
        const sb = f.dir
          ? await conn.cordon.sandbox.fromLocal(f.dir, {
              ...options,
              ...(f.upload ? { mode: 'upload' as const } : {}),
              onProgress: (p) =>
                spin.update(
                  `uploading ${p.files}/${p.totalFiles ?? '?'} files, ${formatBytes(p.bytes)}`,
                ),
            })
          : await conn.cordon.sandbox.create(options);
        spin.done();
        io.stdout(f.json ? JSON.stringify(sb.record) + '\n' : `${sb.id}\n`);
      } finally {
        spin.done();
        await conn.close();
      }
    });

  sandbox
    .command('ls')
    .description('list your sandboxes (destroyed ones only with --all)')
    .option('--json', 'one JSON record per line')
    .option('-a, --all', 'also list destroyed sandboxes (their records are kept for a while)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ cordon sandbox ls\n  $ cordon sandbox ls --json | jq -r .id',
    )
    .action(async (f: { json?: boolean; all?: boolean }) => {
      const conn = await connect({ env: envOf(io) });
      try {
        const list = (await conn.cordon.sandbox.list()).filter(
          (s) => f.all || s.state !== 'destroyed',
        );
        if (f.json) {
          io.stdout(list.map((s) => JSON.stringify(s) + '\n').join(''));
          return;
        }
        io.stdout(
          table(
            ['ID', 'STATE', 'NODE', 'CODEBASE', 'NETWORK', 'CREATED'],
            list.map((s) => [
              s.id,
              s.state,
              s.nodeId,
              s.codebaseId ?? '-',
              s.network,
              ago(s.createdAtMs),
            ]),
          ),
        );
      } finally {
        await conn.close();
      }
    });

  sandbox
    .command('rm')
    .description('destroy sandboxes (running commands are killed; committed changes stay)')
    .argument('<sandbox...>', 'sandbox ids')
    .addHelpText(
      'after',
      '\nExamples:\n  $ cordon sandbox rm sb_abc123\n  $ cordon sandbox ls --json | jq -r .id | xargs cordon sandbox rm',
    )
    .action(async (ids: string[]) => {
      const conn = await connect({ env: envOf(io) });
      try {
        for (const id of ids) {
          const sb = await conn.cordon.sandbox.get(id);
          await sb.close();
          io.stdout(`${id}\n`);
        }
      } finally {
        await conn.close();
      }
    });
}
