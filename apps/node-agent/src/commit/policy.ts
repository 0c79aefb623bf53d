// When an exec's delta is committed. `always` (the default) commits whatever the exec wrote, even
// when it failed; `on-success` commits only on exit code 0 (a killed or timed-out exec has no exit
// code and is not a success); `never` keeps the delta for an explicit commit or a discard.

export type CommitPolicy = 'always' | 'on-success' | 'never';
export type CommitMode = 'lww' | 'reject-conflicts';

export const DEFAULT_COMMIT_POLICY: CommitPolicy = 'always';
export const DEFAULT_COMMIT_MODE: CommitMode = 'lww';

/** Whether to commit the delta when an exec ends; `exitCode` is null when it ended by a signal. */
export function shouldCommit(commit: CommitPolicy, exitCode: number | null): boolean {
  switch (commit) {
    case 'always':
      return true;
    case 'on-success':
      return exitCode === 0;
    case 'never':
      return false;
  }
}
