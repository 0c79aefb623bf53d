import { Command, CommanderError } from 'commander';
import { registerPolicyExplain } from './commands/policy-explain.ts';
import { CliError, EXIT } from './errors.ts';
import type { Io } from './io.ts';

export type { Io };

export function buildProgram(io: Io): Command {
  const program = new Command('cordon')
    .description('Run AI agents on real codebases with per-path permissions')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(run with --help for usage)');
  const policy = program.command('policy').description('validate and explain permission policies');
  registerPolicyExplain(policy, io);
  // exitOverride is not inherited by subcommands created before it is set; set it everywhere.
  for (const cmd of walk(program)) {
    cmd
      .exitOverride()
      .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
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
    if (err instanceof CliError) {
      io.stderr(`cordon: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr(`cordon: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env['CORDON_DEBUG']) io.stderr(`${(err as Error).stack}\n`);
    return EXIT.failure;
  }
}
