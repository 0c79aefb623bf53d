import { createInterface } from 'node:readline';
import type { Sandbox } from '@cordon/client';
import type { Command } from 'commander';
import { connect } from '../connect.ts';
import { ExitCode } from '../errors.ts';
import { envOf, type Io } from '../io.ts';
import { summaryLine } from '../summary.ts';
import { attachTerminal, termName } from '../terminal/attach.ts';

/** An interactive terminal (bash on a PTY in the sandbox) attached to this one. */
async function terminalMode(sb: Sandbox, io: Io): Promise<void> {
  const { stdin, stdout } = process;
  const term = await sb.terminal({
    cols: stdout.columns || 80,
    rows: stdout.rows || 24,
    term: termName(envOf(io)),
  });
  const r = await attachTerminal(term, { stdin, stdout });
  io.stderr(`${summaryLine(r)}\n`);
  if (r.exitCode !== 0) throw new ExitCode(r.exitCode ?? 128);
}

/** Each line runs as one command of a session when Enter is pressed (stdin not a terminal). */
async function lineMode(sb: Sandbox, sandboxId: string, io: Io): Promise<void> {
  await using session = await sb.session();
  const tty = process.stdin.isTTY === true;
  const rl = createInterface({
    input: process.stdin,
    terminal: tty,
    output: tty ? process.stderr : undefined,
  });
  const prompt = () => {
    if (tty) io.stderr(`${sandboxId}$ `);
  };
  prompt();
  let last = 0;
  for await (const line of rl) {
    const cmd = line.trim();
    if (cmd === 'exit' || cmd === 'logout') break;
    if (cmd !== '') {
      const r = await session.run(line);
      io.stdout(r.stdout);
      io.stderr(r.stderr);
      last = r.exitCode;
    }
    prompt();
  }
  rl.close();
  if (last !== 0) throw new ExitCode(last);
}

export function registerShell(program: Command, io: Io): void {
  program
    .command('shell')
    .description('an interactive shell in a sandbox: a real terminal, or line mode without one')
    .argument('<sandbox>', 'sandbox id (see cordon sandbox ls)')
    .option('--line', 'line mode even on a terminal')
    .addHelpText(
      'after',
      `
On a terminal, the shell gets a real PTY (editors, REPLs, Ctrl-C, window resizes work); "exit"
or Ctrl-D ends it, and its writes are committed then. cordon exits with the shell's exit code.
Without a terminal (stdin piped) or with --line, each line runs as one command of a session that
keeps cd, variables and functions; a command that reads stdin gets none.

Examples:
  $ cordon shell sb_abc123
  $ printf 'cd src\\nls\\n' | cordon shell sb_abc123`,
    )
    .action(async (sandboxId: string, opts: { line?: boolean }) => {
      const conn = await connect({ env: envOf(io) });
      try {
        const sb = await conn.cordon.sandbox.get(sandboxId);
        const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
        if (tty && opts.line !== true) await terminalMode(sb, io);
        else await lineMode(sb, sandboxId, io);
      } finally {
        await conn.close();
      }
    });
}
