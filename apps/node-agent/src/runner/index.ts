// The runner's public surface (the package index re-exports it).
export * from './spec.ts';
export * from './errors.ts';
export {
  buildBwrapArgs,
  bwrapFlags,
  defaultEnv,
  mergeEnv,
  sandboxFdPayloads,
  SANDBOX_FDS,
  SANDBOX_HOSTNAME,
  SANDBOX_PATH,
  validateSpec,
  WORKSPACE,
} from './bwrap-args.ts';
export {
  sandboxSpawnRequest,
  wrapperArgv,
  wrapperArgvWithFiles,
  JOIN_FAILED_EXIT,
  type SandboxSpawnOptions,
} from './spawn.ts';
export {
  LocalSpawner,
  RemoteSpawner,
  type SandboxProcess,
  type SpawnRequest,
  type Spawner,
} from '../spawner/index.ts';
export { writePayloadFiles, type PayloadFiles } from './payload-files.ts';
export {
  SandboxRunner,
  collect,
  decodeExit,
  DEFAULT_KILL_GRACE_MS,
  type ExecOptions,
  type ExecResult,
  type RunningExec,
  type RunnerContext,
} from './runner.ts';
export { terminateTree, commandPids } from './terminate.ts';
export { UidPool, SANDBOX_UID_BASE, SANDBOX_UID_COUNT } from './uid-pool.ts';
export { detectHost, requireHost, type HostCapabilities, type HostReport } from '../host/detect.ts';
export { detectRootLayout, type RootLayout } from '../host/layout.ts';
export { createCgroupDriver } from '../cgroup/driver.ts';
export { detectCgroupLayout, type CgroupLayout } from '../cgroup/detect.ts';
export type {
  CgroupDriver,
  CgroupLimits,
  CgroupStats,
  ExecCgroup,
  SandboxCgroup,
} from '../cgroup/types.ts';
export { compileSeccompFilter } from '../seccomp/filter.ts';
export { OutputMux, type OutputChunk, type StreamName } from '../output/mux.ts';
