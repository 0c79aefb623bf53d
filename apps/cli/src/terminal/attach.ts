// Attaches the local terminal to a Cordon terminal session, like ssh: raw mode (every key goes
// to the sandbox, Ctrl-C included), window size changes forwarded, output written as it comes.
import { once } from 'node:events';
import type { ReadStream, WriteStream } from 'node:tty';
import type { ExecResult, Terminal } from '@cordon/client';

export interface AttachStreams {
  readonly stdin: ReadStream;
  readonly stdout: WriteStream;
}

/** Runs until the remote shell exits (or the session is closed) and returns how it ended. */
export async function attachTerminal(term: Terminal, io: AttachStreams): Promise<ExecResult> {
  const { stdin, stdout } = io;
  let inputError: unknown = null;
  const onInput = (data: Buffer) => {
    term.write(data).catch((err: unknown) => {
      // The session refused input (closed, node gone): stop reading; the result says why.
      inputError ??= err;
      stdin.pause();
    });
  };
  const onResize = () => {
    term.resize(stdout.columns, stdout.rows).catch(() => undefined);
  };
  stdin.setRawMode(true);
  stdin.on('data', onInput);
  stdin.resume();
  stdout.on('resize', onResize);
  try {
    for await (const chunk of term.output()) {
      if (!stdout.write(chunk)) await once(stdout, 'drain');
    }
    return await term.result;
  } finally {
    stdout.off('resize', onResize);
    stdin.off('data', onInput);
    stdin.setRawMode(false);
    stdin.pause();
  }
}

/** TERM to ask for: the user's when it is a plain terminfo name, else xterm-256color. */
export function termName(env: NodeJS.ProcessEnv): string {
  const t = env['TERM'];
  return t && /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/.test(t) && t !== 'dumb' ? t : 'xterm-256color';
}
