export type CodebaseErrorCode =
  'NOT_FOUND' | 'PATH_NOT_ALLOWED' | 'PATH_INVALID' | 'BAD_ARCHIVE' | 'TOO_LARGE' | 'EXISTS';

/** Errors of the codebase store (managed directories, host paths, tar import/export). */
export class CodebaseError extends Error {
  override readonly name = 'CodebaseError';
  readonly code: CodebaseErrorCode;

  constructor(code: CodebaseErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
