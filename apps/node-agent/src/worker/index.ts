export { startNodeWorker, type NodeWorker, type NodeWorkerOptions } from './node-worker.ts';
export type { ExecChunk, ExecSpec, Executor, SandboxSpec } from './executor.ts';
export { InterimExecutor, type InterimExecutorOptions } from './interim-executor.ts';
export { WorkerError } from './errors.ts';
