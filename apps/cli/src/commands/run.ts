import type { Command } from 'commander';
import type { ExecEvent, Sandbox } from '@cordon/client';
import { connect } from '../connect.ts';
import { CliError, ExitCode } from '../errors.ts';
import { cwdOf, envOf, isTty, type Io } from '../io.ts';
import { addSandboxFlags, sandboxOptionsOf, type SandboxFlags } from '../sandbox-flags.ts';
import { exitCodeOf, summaryLine } from '../summary.ts';
import { progress } from '../ui/spinner.ts';
import { formatBytes } from '../units.ts';

interface RunFlags extends SandboxFlags {
  readonly json?: boolean;
  readonly upload?: boolean;
}

export function registerRun(program: Command, io: Io): void {
  const cmd = program
    .command('run')
    .description(
      'run COMMAND in the current directory inside a sandbox, like running it locally but fenced',
    )
    .argument('<command...>', 'the command and its arguments (put -- before it if it has flags)')
    .passThroughOptions();
  addSandboxFlags(cmd, true)
    .option('--upload', 'upload the directory even when a local node agent could use it in place')
    .option('--json', 'print one JSON result (with stdout and stderr) instead of streaming')
    .addHelpText(
      'after',
      `
Streams the command's stdout and stderr live, exits with its exit code (124 if it timed out,
125 if Cordon failed), and prints one summary line to stderr: committed changes and denials.
Changes land in the current directory. Uses CORDON_URL + CORDON_TOKEN when set, else a running
\`cordon up\`, else starts a local stack for this one command.

Examples:
  $ cordon run --preset agent-safe -- ls -la
  $ cordon run --rule '/src/**=write@20' --timeout 5m -- npm test
  $ cordon run --memory 512m --cpus 0.5 --pids 128 -- python3 train.py
  $ cordon run --json -- cat README.md | jq -r .stdout`,
    )
    .action(async (argv: string[], flags: RunFlags) => {
      if (argv[0] === '--') argv = argv.slice(1);
      if (argv.length === 0)
        throw new CliError('USAGE', 'give the command after --, e.g. cordon run -- ls -la');
      const { options, timeoutMs } = await sandboxOptionsOf(flags);
      const tty = isTty(io);
      const spin = progress(io.stderr, tty, flags.json === true);
      spin.update('connecting…');
      const conn = await connect({
        env: envOf(io),
        ephemeral: true,
        onStep: (l) => spin.update(`starting a local stack: ${l}`),
      });
      let sb: Sandbox | null = null;
      const onSignal = () => void sb?.close().catch(() => undefined);
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        spin.update('creating the sandbox…');
        sb = await conn.cordon.sandbox.fromLocal(cwdOf(io), {
          ...options,
          ...(flags.upload ? { mode: 'upload' as const } : {}),
          onProgress: (p) => {
            if (p.phase === 'upload')
              spin.update(
                `uploading ${p.files}/${p.totalFiles ?? '?'} files, ${formatBytes(p.bytes)}`,
              );
          },
        });
        spin.done();
        const h = sb.exec(argv, timeoutMs === undefined ? {} : { timeoutMs });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        for await (const ev of h as AsyncIterable<ExecEvent>) {
          if (ev.kind === 'gap') {
            io.stderr(
              `cordon: ${ev.toSeq - ev.fromSeq + 1} output chunks were lost (the stream was trimmed)\n`,
            );
            continue;
          }
          if (flags.json) (ev.kind === 'stdout' ? out : err).push(ev.data);
          else if (ev.kind === 'stdout') io.stdout(ev.data);
          else io.stderr(ev.data.toString('utf8'));
        }
        const r = await h.result;
        const pulled = await sb.pull();
        if (flags.json) {
          io.stdout(
            JSON.stringify({
              ...r,
              stdout: Buffer.concat(out).toString('utf8'),
              stderr: Buffer.concat(err).toString('utf8'),
              pulled,
            }) + '\n',
          );
        } else io.stderr(summaryLine(r, pulled) + '\n');
        const code = exitCodeOf(r);
        if (code !== 0) throw new ExitCode(code);
      } finally {
        spin.done();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await sb?.close().catch(() => undefined);
        await conn.close();
      }
    });
  void cmd;
}
