import { Command, CommanderError } from 'commander';
import { BadRequestError, CordonError, toCordonError } from '@cordon/client';
import { TRPCClientError } from '@trpc/client';
import { registerExec } from './commands/exec.ts';
import { registerLogs } from './commands/logs.ts';
import { registerNodes } from './commands/nodes.ts';
import { registerPolicyExplain } from './commands/policy-explain.ts';
import { registerPreview } from './commands/preview.ts';
import { registerRun } from './commands/run.ts';
import { registerSandbox } from './commands/sandbox.ts';
import { registerServices } from './commands/services.ts';
import { registerShell } from './commands/shell.ts';
import { registerToken } from './commands/token.ts';
import { registerUp } from './commands/up.ts';
import { CliError, EXIT, ExitCode } from './errors.ts';
import type { Io } from './io.ts';

export type { Io };

export function buildProgram(io: Io): Command {
  const program = new Command('cordon')
    .description('Run AI agents on real codebases with per-path permissions')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: io.stderr })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Exit codes: the command's own (run, exec); 124 timed out; 2 bad flags, sizes, durations or rules;
125 Cordon failed (no gateway, node lost, refused); 1 internal error (CORDON_DEBUG=1 for a stack).

Examples:
  $ cordon up                                           # local stack, Ctrl-C stops it
  $ cordon run --preset agent-safe -- ls -la            # in another terminal
  $ cordon preview --preset agent-safe .                # what an agent would see
  $ cordon policy explain --preset agent-safe /.env`,
    );
  registerUp(program, io);
  registerRun(program, io);
  registerSandbox(program, io);
  registerExec(program, io);
  registerShell(program, io);
  registerLogs(program, io);
  registerNodes(program, io);
  registerToken(program, io);
  registerPreview(program, io);
  const policy = program.command('policy').description('validate and explain permission policies');
  registerPolicyExplain(policy, io);
  registerServices(program, io);
  // exitOverride is not inherited by subcommands created before it is set; set it everywhere.
  for (const cmd of walk(program)) {
    cmd
      .exitOverride()
      .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: io.stderr })
      // A fixed width keeps help identical on a terminal, in a pipe and in snapshots.
      .configureHelp({ helpWidth: 100 });
  }
  return program;
}

function* walk(cmd: Command): Generator<Command> {
  yield cmd;
  for (const sub of cmd.commands) yield* walk(sub);
}

/** Runs the CLI and returns the exit code; never throws, never prints a stack trace. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
        ? EXIT.ok
        : EXIT.usage;
    }
    if (err instanceof ExitCode) return err.exitCode;
    if (err instanceof CliError) {
      io.stderr(`cordon: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof CordonError || err instanceof TRPCClientError) {
      const e = toCordonError(err, '');
      io.stderr(`cordon: ${e.message}\n`);
      if (process.env['CORDON_DEBUG']) io.stderr(`${e.stack}\n`);
      // The gateway refused what the user typed (a rule, a limit): that is bad input, exit 2.
      return e instanceof BadRequestError ? EXIT.usage : EXIT.cordon;
    }
    io.stderr(`cordon: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env['CORDON_DEBUG']) io.stderr(`${(err as Error).stack}\n`);
    return EXIT.failure;
  }
}
