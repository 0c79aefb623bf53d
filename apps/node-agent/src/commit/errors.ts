// The commit layer's one error class. Codes are a closed union; callers switch on `code`, never on
// the message (which says how to fix the problem).

export type CommitErrorCode =
  /** Another commit on the same codebase held the lock for longer than lockTimeoutMs. */
  | 'LOCK_TIMEOUT'
  /** The lock file was taken from this process mid-commit (two committers in different pid namespaces?). */
  | 'LOCK_LOST'
  /** The codebase directory is missing or not a directory. */
  | 'CODEBASE_INVALID'
  /** The delta holds an entry the committer cannot apply (fifo, socket, device). */
  | 'UNSUPPORTED_ENTRY'
  /** A journal in the state directory cannot be read; recovery refuses to guess. */
  | 'JOURNAL_CORRUPT'
  /** Applying a committed journal failed; the journal is kept and the next recovery rolls forward. */
  | 'RECOVERY_REQUIRED';

export class CommitError extends Error {
  readonly code: CommitErrorCode;

  constructor(code: CommitErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CommitError';
    this.code = code;
  }
}
