import type { Command } from 'commander';
import { connect } from '../connect.ts';
import { CliError } from '../errors.ts';
import { envOf, type Io } from '../io.ts';
import { table } from '../ui/table.ts';

const SCOPES = ['read', 'write', 'admin'];

interface TokenRow {
  readonly id?: string;
  readonly name?: string;
  readonly scope?: string;
  readonly tenantId?: string;
  readonly createdAtMs?: number;
}

export function registerToken(program: Command, io: Io): void {
  const token = program.command('token').description('manage API tokens (needs an admin token)');

  token
    .command('create')
    .description('create an API token and print it (shown once)')
    .option('--name <name>', 'a label, e.g. ci or alice', '')
    .option('--scope <scope>', 'read, write or admin', 'write')
    .option('--tenant <tenant>', 'tenant of the token (default: yours)')
    .option('--json', 'print the token record as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ cordon token create --name ci --scope write\n  $ export CORDON_TOKEN=$(cordon token create --name reviewer --scope read)',
    )
    .action(async (f: { name: string; scope: string; tenant?: string; json?: boolean }) => {
      if (!SCOPES.includes(f.scope))
        throw new CliError('USAGE', `--scope ${f.scope}: choose one of ${SCOPES.join(', ')}`);
      const conn = await connect({ env: envOf(io) });
      try {
        const r = (await conn.cordon.mutation('tokens.create', {
          name: f.name,
          scope: f.scope,
          ...(f.tenant ? { tenantId: f.tenant } : {}),
        })) as TokenRow & { token: string };
        io.stdout(f.json ? JSON.stringify(r) + '\n' : `${r.token}\n`);
      } finally {
        await conn.close();
      }
    });

  token
    .command('ls')
    .description('list API tokens (never their values)')
    .option('--json', 'one JSON record per line')
    .addHelpText('after', '\nExamples:\n  $ cordon token ls')
    .action(async (f: { json?: boolean }) => {
      const conn = await connect({ env: envOf(io) });
      try {
        const rows = (await conn.cordon.query('tokens.list', undefined)) as TokenRow[];
        if (f.json) {
          io.stdout(rows.map((r) => JSON.stringify(r) + '\n').join(''));
          return;
        }
        io.stdout(
          table(
            ['ID', 'NAME', 'SCOPE', 'TENANT'],
            rows.map((r) => [r.id ?? '', r.name ?? '', r.scope ?? '', r.tenantId ?? '']),
          ),
        );
      } finally {
        await conn.close();
      }
    });

  token
    .command('revoke')
    .description('revoke API tokens by id (from cordon token ls)')
    .argument('<id...>', 'token ids')
    .addHelpText('after', '\nExamples:\n  $ cordon token revoke tok_abc123')
    .action(async (ids: string[]) => {
      const conn = await connect({ env: envOf(io) });
      try {
        const missing: string[] = [];
        for (const id of ids) {
          const r = (await conn.cordon.mutation('tokens.revoke', { id })) as { revoked?: boolean };
          // A mistyped id must not look revoked while the real token keeps working.
          if (r.revoked === false) missing.push(id);
          else io.stdout(`${id}\n`);
        }
        if (missing.length)
          throw new CliError(
            'CORDON',
            `no token ${missing.join(', ')} (already revoked?); list them with cordon token ls`,
          );
      } finally {
        await conn.close();
      }
    });
}
