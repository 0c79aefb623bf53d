// Public surface of the commit layer.
export { commitDelta, type CommitOptions, type CommitResult } from './commit.ts';
export {
  recoverAll,
  recoverCodebase,
  type RecoverOptions,
  type RecoveryAction,
  type RecoveryResult,
} from './recover.ts';
export { CommitError, type CommitErrorCode } from './errors.ts';
export { CommitQueue } from './queue.ts';
export {
  DEFAULT_COMMIT_MODE,
  DEFAULT_COMMIT_POLICY,
  shouldCommit,
  type CommitMode,
  type CommitPolicy,
} from './policy.ts';
export { CRASH_ENV, FAULT_POINTS, type FaultPoint } from './fault.ts';
export { clearDelta, discardDelta } from '../delta/clear.ts';
