export { startNodeWorker, type NodeWorker, type NodeWorkerOptions } from './node-worker.ts';
export { NodeRuntime, type HeldSandbox, type SandboxSpec } from './runtime.ts';
export type { RecoveryReport } from './recovery.ts';
export { WorkerError } from './errors.ts';
