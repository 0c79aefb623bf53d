// Public surface of the mounts layer (stale FUSE mount discovery and cleanup).
export {
  cleanupMount,
  cleanupStaleMounts,
  FUSE_CONNECTIONS_DIR,
  type CleanupOptions,
  type CleanupResult,
  type CleanupStep,
} from './cleanup.ts';
export { MountError, type MountErrorCode } from './errors.ts';
export { isFuseMount, parseMountInfo, readMountInfo, type MountInfo } from './mountinfo.ts';
export { findStaleMounts, selectStaleMounts, type FindStaleMountsOptions } from './stale.ts';
