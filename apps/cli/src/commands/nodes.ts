import type { Command } from 'commander';
import { connect } from '../connect.ts';
import { envOf, type Io } from '../io.ts';
import { ago, table } from '../ui/table.ts';

export function registerNodes(program: Command, io: Io): void {
  program
    .command('nodes')
    .description('list the node agents of the cluster')
    .option('--json', 'one JSON record per line')
    .addHelpText('after', '\nExamples:\n  $ cordon nodes\n  $ cordon nodes --json')
    .action(async (f: { json?: boolean }) => {
      const conn = await connect({ env: envOf(io) });
      try {
        const nodes = await conn.cordon.nodes();
        if (f.json) {
          io.stdout(nodes.map((n) => JSON.stringify(n) + '\n').join(''));
          return;
        }
        io.stdout(
          table(
            ['ID', 'STATUS', 'HOST', 'LOAD', 'CAPACITY', 'VERSION', 'HEARTBEAT'],
            nodes.map((n) => [
              n.id,
              n.status,
              n.host,
              String(n.load),
              String(n.capacity),
              n.version,
              ago(n.heartbeatAtMs),
            ]),
          ),
        );
      } finally {
        await conn.close();
      }
    });
}
