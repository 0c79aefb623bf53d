// INTERIM EXECUTOR — NOT A SANDBOX. It runs commands as the node agent's own user in a plain
// per-sandbox directory, with no permission filesystem, no bwrap, no cgroup limits and no commit.
// It exists so the gateway ⇄ BullMQ ⇄ worker ⇄ websocket path can be built and tested end to end;
// the lead replaces it with the bwrap runner + FUSE mount (src/runner, src/fs) behind the same
// Executor interface. Never enable it on a host that runs untrusted code.
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import type { ExecResult } from '@cordon/protocol';
import { execa } from 'execa';
import { WorkerError } from './errors.ts';
import type { ExecChunk, ExecSpec, Executor, SandboxSpec } from './executor.ts';

export interface InterimExecutorOptions {
  /** Sandboxes get `<dataDir>/interim-sandboxes/<id>` as their working directory. */
  readonly dataDir: string;
  /** Grace between SIGTERM and SIGKILL on timeout/cancel. Default 2 000 ms. */
  readonly killGraceMs?: number;
}

const SAFE_PATH = '/usr/local/bin:/usr/bin:/bin';

export class InterimExecutor implements Executor {
  readonly #root: string;
  readonly #killGraceMs: number;
  readonly #sandboxes = new Set<string>();

  constructor(o: InterimExecutorOptions) {
    this.#root = resolve(o.dataDir, 'interim-sandboxes');
    this.#killGraceMs = o.killGraceMs ?? 2_000;
  }

  #dir(sandboxId: string): string {
    return join(this.#root, sandboxId);
  }

  async createSandbox(spec: SandboxSpec): Promise<void> {
    await mkdir(this.#dir(spec.sandboxId), { recursive: true });
    this.#sandboxes.add(spec.sandboxId);
  }

  async exec(
    sandboxId: string,
    req: ExecSpec,
    onChunk: (chunk: ExecChunk) => Promise<void>,
    signal: AbortSignal,
  ): Promise<ExecResult> {
    if (!this.#sandboxes.has(sandboxId)) {
      throw new WorkerError('NOT_FOUND', `sandbox ${sandboxId} is not held by this node`);
    }
    const base = this.#dir(sandboxId);
    const cwd = resolve(base, '.' + req.cwd);
    if (cwd !== base && !cwd.startsWith(base + sep)) {
      throw new WorkerError('BAD_REQUEST', `cwd ${req.cwd} leaves the sandbox`);
    }
    const [file, ...args] = req.argv;
    if (file === undefined) throw new WorkerError('BAD_REQUEST', 'argv is empty');

    const started = performance.now();
    // extendEnv: false — the agent's environment holds the cluster token and must not leak.
    const child = execa(file, args, {
      cwd,
      env: { PATH: SAFE_PATH, HOME: base, ...req.env },
      extendEnv: false,
      buffer: false,
      reject: false,
      ...(req.stdin === null ? { stdin: 'ignore' as const } : { input: req.stdin }),
      cancelSignal: signal,
      forceKillAfterDelay: this.#killGraceMs,
      ...(req.limits.timeoutMs === null ? {} : { timeout: req.limits.timeoutMs }),
    });

    let budget = req.limits.outputBytes;
    let truncated = false;
    const bytes = { stdout: 0, stderr: 0 };
    const pump = async (stream: Readable | null, name: 'stdout' | 'stderr') => {
      if (!stream) return;
      for await (const buf of stream as AsyncIterable<Buffer>) {
        bytes[name] += buf.length;
        if (budget <= 0) {
          truncated = true;
          continue;
        }
        const take = buf.length <= budget ? buf : buf.subarray(0, budget);
        if (take.length < buf.length) truncated = true;
        budget -= take.length;
        await onChunk({ stream: name, data: take });
      }
    };
    const [result] = await Promise.all([
      child,
      pump(child.stdout, 'stdout'),
      pump(child.stderr, 'stderr'),
    ]);

    const notFound = (result as { code?: string }).code === 'ENOENT';
    if (notFound) {
      const msg = Buffer.from(`cordon: command not found: ${file}\n`);
      await onChunk({ stream: 'stderr', data: msg });
      bytes.stderr += msg.length;
    }
    return {
      exitCode: notFound ? 127 : (result.exitCode ?? null),
      signal: result.signal ?? null,
      timedOut: result.timedOut,
      oomKilled: false,
      canceled: result.isCanceled,
      durationMs: Math.round(performance.now() - started),
      stdoutBytes: bytes.stdout,
      stderrBytes: bytes.stderr,
      truncated,
      commit: null,
    };
  }

  async destroySandbox(sandboxId: string): Promise<void> {
    this.#sandboxes.delete(sandboxId);
    await rm(this.#dir(sandboxId), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    for (const id of [...this.#sandboxes]) await this.destroySandbox(id);
  }
}
