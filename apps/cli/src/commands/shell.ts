import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { connect } from '../connect.ts';
import { ExitCode } from '../errors.ts';
import { envOf, type Io } from '../io.ts';

export function registerShell(program: Command, io: Io): void {
  program
    .command('shell')
    .description(
      'an interactive shell session in a sandbox (line mode: each line runs when you press Enter)',
    )
    .argument('<sandbox>', 'sandbox id (see cordon sandbox ls)')
    .addHelpText(
      'after',
      `
The session keeps cd, variables and functions between lines. Line mode: a command that reads
stdin gets none, and full-screen programs do not work. Ctrl-D or "exit" ends it.

Examples:
  $ cordon shell sb_abc123
  $ printf 'cd src\\nls\\n' | cordon shell sb_abc123`,
    )
    .action(async (sandboxId: string) => {
      const conn = await connect({ env: envOf(io) });
      try {
        const sb = await conn.cordon.sandbox.get(sandboxId);
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
      } finally {
        await conn.close();
      }
    });
}
