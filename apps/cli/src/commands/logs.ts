import { StringDecoder } from 'node:string_decoder';
import type { Command } from 'commander';
import type { ExecResult } from '@cordon/client';
import { connect } from '../connect.ts';
import { envOf, type Io } from '../io.ts';
import { summaryLine } from '../summary.ts';
import { parseCount } from '../units.ts';

/**
 * Without --follow, a running exec's stream is read until it goes quiet: the backlog arrives in
 * one burst once subscribed. The first event may take a while on a loaded host (websocket, auth,
 * subscribe), so the wait for it is longer than the pause that ends the burst.
 */
const FIRST_EVENT_MS = 3_000;
const QUIET_MS = 500;

interface LogsFlags {
  readonly follow?: boolean;
  readonly after?: string;
  readonly json?: boolean;
}

export function registerLogs(program: Command, io: Io): void {
  program
    .command('logs')
    .description("print an exec's output (kept 24 h after it ended)")
    .argument('<exec>', 'exec id (printed by cordon exec)')
    .option('-f, --follow', 'keep streaming until the command ends')
    .option('--after <seq>', 'resume after this output seq number')
    .option(
      '--json',
      'print one JSON object: { execId, running, stdout, stderr, result } (result null while running)',
    )
    .addHelpText(
      'after',
      `
Prints the command's stdout to stdout and its stderr to stderr, then one summary line on stderr.
Without --follow, prints what is there now and, if the command is still running, says so.
Exit code 0 once printed; 125 if there is no such exec (or it expired); 2 for a malformed id.

Examples:
  $ cordon logs ex_abc123
  $ cordon logs --follow ex_abc123
  $ cordon logs --json ex_abc123 | jq -r .stdout`,
    )
    .action(async (execId: string, f: LogsFlags) => {
      const afterSeq = f.after === undefined ? 0 : parseCount('--after', f.after, 0, 1e15);
      const conn = await connect({ env: envOf(io) });
      try {
        // Fails with NOT_FOUND (exit 125) before anything is printed.
        const rec = await conn.cordon.trpc.execs.get.query({ execId });
        const running = rec.status === 'queued' || rec.status === 'running';
        const stop = new AbortController();
        let idle: NodeJS.Timeout | undefined;
        const arm = (ms: number) => {
          if (f.follow || !running) return;
          clearTimeout(idle);
          idle = setTimeout(() => stop.abort(), ms);
        };
        arm(FIRST_EVENT_MS);
        // One decoder per stream: a multi-byte character may straddle two chunks.
        const errText = new StringDecoder('utf8');
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        const h = conn.cordon.execs.attach(execId);
        for await (const ev of h.events({ afterSeq, signal: stop.signal })) {
          arm(QUIET_MS);
          if (ev.kind === 'gap') {
            io.stderr(
              `cordon: ${ev.toSeq - ev.fromSeq + 1} output chunks were lost (the stream was trimmed)\n`,
            );
          } else if (f.json) (ev.kind === 'stdout' ? out : err).push(ev.data);
          else if (ev.kind === 'stdout') io.stdout(ev.data);
          else io.stderr(errText.write(ev.data));
        }
        clearTimeout(idle);
        if (!f.json) io.stderr(errText.end());
        const stillRunning = stop.signal.aborted;
        const result: ExecResult | null = stillRunning ? null : await h.result;
        if (f.json) {
          io.stdout(
            JSON.stringify({
              execId,
              running: stillRunning,
              stdout: Buffer.concat(out).toString('utf8'),
              stderr: Buffer.concat(err).toString('utf8'),
              result,
            }) + '\n',
          );
        } else if (result === null) {
          io.stderr(`cordon: ${execId} is still running; use --follow to keep reading\n`);
        } else {
          io.stderr(summaryLine(result) + '\n');
        }
      } finally {
        await conn.close();
      }
    });
}
