/** Exit codes of the CLI (product decision: 2 for bad input, the command's own code otherwise). */
export const EXIT = { ok: 0, failure: 1, usage: 2, timeout: 124 } as const;

export type CliErrorCode = 'USAGE' | 'FAILURE';

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
    }
  }
}
