export {
  mountSandboxFs,
  DEFAULT_QUOTA_BYTES,
  type MountSandboxFsOptions,
  type SandboxFs,
  type FsHealth,
} from './mount.ts';
export { FsError, type FsErrorCode } from './errors.ts';
export type { DenialEvent, RateLimit } from './audit.ts';
export { DEFAULT_TUNING, buildFuseOptions, type FsTuning } from './options.ts';
export { forceUnmount } from './teardown.ts';
