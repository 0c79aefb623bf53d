import type { Policy } from '@cordon/policy';
import type { ExecResult, Limits, NetworkMode, OutputStream } from '@cordon/protocol';

/** What a node needs to set a sandbox up; the policy is already recompiled and hash-checked. */
export interface SandboxSpec {
  readonly sandboxId: string;
  readonly tenantId: string;
  readonly policy: Policy;
  readonly limits: Limits;
  readonly network: NetworkMode;
  readonly strict: boolean;
  readonly idleTimeoutMs: number | null;
}

export interface ExecSpec {
  readonly execId: string;
  readonly argv: readonly string[];
  /** Codebase-relative working directory with a leading '/'. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: string | null;
  readonly limits: Limits;
}

/** A piece of output of any size; the worker splits it into wire chunks. */
export interface ExecChunk {
  readonly stream: OutputStream;
  readonly data: Buffer;
}

/**
 * Runs sandboxes for the worker. `onChunk` returns a promise that settles when the chunk is
 * accepted downstream: an executor awaits it before reading more output, which is how a slow
 * consumer slows the command instead of growing memory. `signal` aborts (cancel): the executor
 * kills the command and resolves with `canceled: true`. Errors are thrown as WorkerError.
 */
export interface Executor {
  createSandbox(spec: SandboxSpec): Promise<void>;
  exec(
    sandboxId: string,
    req: ExecSpec,
    onChunk: (chunk: ExecChunk) => Promise<void>,
    signal: AbortSignal,
  ): Promise<ExecResult>;
  destroySandbox(sandboxId: string): Promise<void>;
  /** Releases everything (called once when the worker stops). */
  close(): Promise<void>;
}
