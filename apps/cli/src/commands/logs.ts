import type { Command } from 'commander';
import { connect } from '../connect.ts';
import { envOf, type Io } from '../io.ts';
import { summaryLine } from '../summary.ts';
import { parseCount } from '../units.ts';

export function registerLogs(program: Command, io: Io): void {
  program
    .command('logs')
    .description("print an exec's output (kept 24 h after it ended)")
    .argument('<exec>', 'exec id (printed by cordon exec)')
    .option('-f, --follow', 'keep streaming until the command ends')
    .option('--after <seq>', 'resume after this output seq number')
    .addHelpText(
      'after',
      `
Without --follow, prints what is there now and, if the command is still running, says so.

Examples:
  $ cordon logs ex_abc123
  $ cordon logs --follow ex_abc123`,
    )
    .action(async (execId: string, f: { follow?: boolean; after?: string }) => {
      const afterSeq = f.after === undefined ? 0 : parseCount('--after', f.after, 0, 1e15);
      const conn = await connect({ env: envOf(io) });
      try {
        const rec = await conn.cordon.trpc.execs.get.query({ execId });
        const running = rec.status === 'queued' || rec.status === 'running';
        const stop = new AbortController();
        let idle: NodeJS.Timeout | undefined;
        // Without --follow a running exec's stream is read until it goes quiet for a moment.
        const arm = () => {
          if (f.follow || !running) return;
          clearTimeout(idle);
          idle = setTimeout(() => stop.abort(), 500);
        };
        arm();
        const h = conn.cordon.execs.attach(execId);
        for await (const ev of h.events({ afterSeq, signal: stop.signal })) {
          arm();
          if (ev.kind === 'stdout') io.stdout(ev.data);
          else if (ev.kind === 'stderr') io.stderr(ev.text);
        }
        clearTimeout(idle);
        if (stop.signal.aborted) {
          io.stderr(`cordon: ${execId} is still running; use --follow to keep reading\n`);
        } else {
          io.stderr(summaryLine(await h.result) + '\n');
        }
      } finally {
        await conn.close();
      }
    });
}
