import { StringDecoder } from 'node:string_decoder';
import type { Command } from 'commander';
import { connect } from '../connect.ts';
import { CliError, ExitCode } from '../errors.ts';
import { envOf, type Io } from '../io.ts';
import { exitCodeOf, summaryLine } from '../summary.ts';
import { parseDuration } from '../units.ts';

export function registerExec(program: Command, io: Io): void {
  program
    .command('exec')
    .description('run a command in an existing sandbox, streaming its output')
    .argument('<sandbox>', 'sandbox id (see cordon sandbox ls)')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--timeout <duration>', 'kill the command after this long, e.g. 30s (default: none)')
    .option('--cwd <dir>', 'working directory inside the codebase, e.g. /src (default /)')
    .option('--json', 'print one JSON result instead of streaming')
    .passThroughOptions()
    .addHelpText(
      'after',
      `
Prints the exec id to stderr first (for cordon logs), streams output, exits with the command's
code (124 on timeout) after one summary line on stderr.

Examples:
  $ cordon exec sb_abc123 -- make test
  $ cordon exec --timeout 10s --cwd /src sb_abc123 -- ls -la`,
    )
    .action(
      async (
        sandboxId: string,
        argv: string[],
        f: { timeout?: string; cwd?: string; json?: boolean },
      ) => {
        const timeoutMs =
          f.timeout === undefined ? undefined : parseDuration('--timeout', f.timeout);
        const conn = await connect({ env: envOf(io) });
        try {
          // With pass-through options the `--` after SANDBOX arrives as the first word.
          if (argv[0] === '--') argv = argv.slice(1);
          if (argv.length === 0)
            throw new CliError(
              'USAGE',
              'give the command after --, e.g. cordon exec SANDBOX -- ls -la',
            );
          const sb = await conn.cordon.sandbox.get(sandboxId);
          const h = sb.exec(argv, {
            ...(timeoutMs ? { timeoutMs } : {}),
            ...(f.cwd ? { cwd: f.cwd } : {}),
          });
          if (!f.json) io.stderr(`cordon: exec ${await h.id}\n`);
          const out: Buffer[] = [];
          const err: Buffer[] = [];
          // A multi-byte character may straddle two chunks: decode stderr as one stream.
          const errText = new StringDecoder('utf8');
          for await (const ev of h) {
            if (ev.kind === 'gap') {
              if (!f.json)
                io.stderr(
                  `cordon: ${ev.toSeq - ev.fromSeq + 1} output chunks were lost (the stream was trimmed)\n`,
                );
              continue;
            }
            if (f.json) (ev.kind === 'stdout' ? out : err).push(ev.data);
            else if (ev.kind === 'stdout') io.stdout(ev.data);
            else io.stderr(errText.write(ev.data));
          }
          if (!f.json) io.stderr(errText.end());
          const r = await h.result;
          if (f.json) {
            io.stdout(
              JSON.stringify({
                ...r,
                stdout: Buffer.concat(out).toString('utf8'),
                stderr: Buffer.concat(err).toString('utf8'),
              }) + '\n',
            );
          } else io.stderr(summaryLine(r) + '\n');
          const code = exitCodeOf(r);
          if (code !== 0) throw new ExitCode(code);
        } finally {
          await conn.close();
        }
      },
    );
}
