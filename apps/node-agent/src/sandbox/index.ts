export {
  Sandbox,
  type NodeContext,
  type SandboxExec,
  type SandboxExecResult,
  type SandboxOptions,
} from './sandbox.ts';
export { CodebaseHub } from './codebase-hub.ts';
export { SandboxError, type SandboxErrorCode } from './errors.ts';
