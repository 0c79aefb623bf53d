export {
  Sandbox,
  type AfterExec,
  type ExecTicket,
  type NodeContext,
  type SandboxExec,
  type SandboxExecResult,
  type SandboxOptions,
} from './sandbox.ts';
export { CodebaseHub } from './codebase-hub.ts';
export { SandboxError, type SandboxErrorCode } from './errors.ts';
