/**
 * Exit codes of the CLI (product decision): the command's own code for `run`/`exec`; 124 when it
 * timed out (like `timeout`); 2 for bad flags, sizes, durations or rules; 125 when Cordon itself
 * failed (no gateway, node lost, refused request — like `timeout`'s own failures); 1 for a bug.
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  timeout: 124,
  cordon: 125,
  interrupted: 130,
} as const;

export type CliErrorCode = 'USAGE' | 'FAILURE' | 'CORDON';

/** The CLI layer's error: a one-line message for stderr and the exit code it maps to. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string) {
    super(message);
    this.code = code;
  }

  get exitCode(): number {
    switch (this.code) {
      case 'USAGE':
        return EXIT.usage;
      case 'FAILURE':
        return EXIT.failure;
      case 'CORDON':
        return EXIT.cordon;
    }
  }
}

/** Ends a command with a specific exit code (the command's own) without a message. */
export class ExitCode extends Error {
  override readonly name = 'ExitCode';
  readonly exitCode: number;

  constructor(exitCode: number) {
    super(`exit ${exitCode}`);
    this.exitCode = exitCode;
  }
}
