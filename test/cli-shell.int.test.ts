// `cordon shell` on a real terminal: the CLI runs on a PTY (as under a user's terminal emulator),
// goes raw, forwards keys and window size, and exits with the remote shell's exit code.
import pty from '@lydell/node-pty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORDON_BIN, cordonCli } from './helpers/cli.ts';
import { Screen } from './helpers/screen.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack();
});
afterAll(async () => {
  await t?.close();
});

/** `cordon ARGS` on a new PTY of cols × rows; read `screen`, type with `p.write`. */
function onTerminal(args: readonly string[], cols = 100, rows = 30) {
  const p = pty.spawn(process.execPath, [CORDON_BIN, ...args], {
    cols,
    rows,
    env: { ...t.env, TERM: 'xterm-256color' },
    encoding: null,
  });
  const screen = new Screen();
  p.onData((d: string | Buffer) => screen.push(d.toString()));
  const exited = new Promise<number>((resolve) => p.onExit(({ exitCode }) => resolve(exitCode)));
  return { p, exited, screen };
}

describe('cordon shell on a terminal', () => {
  it('gives the remote shell a TTY of the window size, forwards resizes, exits with its code', async () => {
    const created = await cordonCli(['sandbox', 'create', '--preset', 'full-access', '--json'], {
      env: t.env,
    });
    expect(created.code).toBe(0);
    const sandboxId = (JSON.parse(created.stdout) as { id: string }).id;
    const term = onTerminal(['shell', sandboxId], 100, 30);
    try {
      term.p.write('tty -s && echo "IS""A""TTY"; stty size\r');
      await term.screen.until(/ISATTY\r*\n30 100/);
      term.p.resize(120, 40);
      // SIGWINCH reached the CLI, which forwards the size: the remote shell sees it. The resize
      // races with the next line, so ask until it shows (bounded).
      for (let i = 0; i < 50 && !/40 120/.test(term.screen.text); i++) {
        term.p.write('stty size\r');
        await term.screen.settle(/\d+ \d+\r*\n/, 2_000);
      }
      expect(term.screen.text).toMatch(/40 120/);
      term.p.write('echo "CTRL""C"; sleep 600\r');
      await term.screen.until(/CTRLC\r*\n/);
      // Raw mode: Ctrl-C goes to the sandbox's foreground job, not to cordon. The key may land
      // just before sleep takes the terminal; then bash itself is interrupted — the same $?.
      for (let i = 0; i < 10 && !/STILL \d+/.test(term.screen.text); i++) {
        term.p.write('\x03');
        term.p.write('echo "STILL $?"\r');
        await term.screen.settle(/STILL \d+/, 2_000);
      }
      expect(term.screen.text).toMatch(/STILL 130/);
      term.p.write('echo made > by-shell.txt; exit 4\r');
      expect(await term.exited).toBe(4);
      expect(term.screen.text).toMatch(/cordon: exit 4 · committed 1 added/);
    } finally {
      term.p.kill('SIGKILL');
    }
    const out = await cordonCli(['exec', sandboxId, '--', 'cat', 'by-shell.txt'], { env: t.env });
    expect(out.stdout).toBe('made\n');
    await cordonCli(['sandbox', 'rm', sandboxId], { env: t.env });
  });

  it('--line keeps line mode on a terminal', async () => {
    const created = await cordonCli(['sandbox', 'create', '--json'], { env: t.env });
    const sandboxId = (JSON.parse(created.stdout) as { id: string }).id;
    const term = onTerminal(['shell', '--line', sandboxId]);
    try {
      await term.screen.until(new RegExp(`${sandboxId}\\$ `));
      term.p.write('tty || echo "NOT""A""TTY"\r');
      await term.screen.until(/NOTATTY/);
      term.p.write('exit\r');
      expect(await term.exited).toBe(0);
    } finally {
      term.p.kill('SIGKILL');
    }
    await cordonCli(['sandbox', 'rm', sandboxId], { env: t.env });
  });
});
