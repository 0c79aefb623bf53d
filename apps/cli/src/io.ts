/** Where the CLI writes and what it reads; injected so commands can be tested in-process. */
export interface Io {
  readonly stdout: (s: string | Uint8Array) => void;
  readonly stderr: (s: string) => void;
  /** Spinners only on a TTY. Default: process.stderr.isTTY. */
  readonly isTty?: boolean;
  /** Default: process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Default: process.cwd(). */
  readonly cwd?: string;
}

export function envOf(io: Io): NodeJS.ProcessEnv {
  return io.env ?? process.env;
}

export function cwdOf(io: Io): string {
  return io.cwd ?? process.cwd();
}

export function isTty(io: Io): boolean {
  return io.isTty ?? process.stderr.isTTY === true;
}
