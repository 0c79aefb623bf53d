// Codebase jobs: record a host path or an empty directory, pull an upload into a managed
// codebase, push an export, delete. Outcomes are recorded as the codebase's state in Redis
// (uploads: `uploadError` when it failed, so the client may retry).
import {
  redisKeys,
  type CodebaseCreateJob,
  type CodebaseDeleteJob,
  type CodebaseTransferJob,
  type ErrorInfo,
} from '@cordon/protocol';
import type { Logger } from 'pino';
import { CodebaseError } from '../codebase/index.ts';
import { errorInfoOf } from './errors.ts';
import type { NodeState } from './node-state.ts';
import type { NodeRuntime } from './runtime.ts';
import { pullUpload, pushExport, pushExportError } from './transfer.ts';

export interface CodebaseJobsOptions {
  readonly state: NodeState;
  readonly runtime: NodeRuntime;
  readonly clusterToken: string;
}

/** A codebase-layer (or transfer) error as recorded for clients. */
export function codebaseErrorInfo(err: unknown, what: string): ErrorInfo {
  return errorInfoOf(err, what);
}

export class CodebaseJobs {
  readonly #o: CodebaseJobsOptions;

  constructor(o: CodebaseJobsOptions) {
    this.#o = o;
  }

  async handle(
    job: CodebaseCreateJob | CodebaseTransferJob | CodebaseDeleteJob,
    log: Logger,
  ): Promise<void> {
    switch (job.kind) {
      case 'codebase.create':
        return this.#create(job, log);
      case 'codebase.upload':
        return this.#upload(job, log);
      case 'codebase.export':
        return this.#export(job, log);
      case 'codebase.delete':
        await this.#o.runtime.codebases.delete(job.codebaseId);
        await this.#o.state.redis.srem(
          redisKeys.nodeCodebases(this.#o.state.nodeId),
          job.codebaseId,
        );
        log.info({ codebaseId: job.codebaseId }, 'codebase deleted');
        return;
    }
  }

  async #create(job: CodebaseCreateJob, log: Logger): Promise<void> {
    const { runtime, state } = this.#o;
    try {
      if (job.source === 'path') {
        await runtime.codebases.createFromPath(job.codebaseId, job.path ?? '');
      } else {
        await runtime.codebases.createEmpty(job.codebaseId);
      }
    } catch (err) {
      log.warn({ codebaseId: job.codebaseId, err }, 'codebase refused');
      await runtime.codebases.delete(job.codebaseId).catch(() => undefined);
      await state.codebase(
        job.codebaseId,
        'creating',
        'failed',
        codebaseErrorInfo(err, 'creating the codebase'),
      );
      return;
    }
    if (!(await state.codebase(job.codebaseId, 'creating', 'ready', null))) {
      await runtime.codebases.delete(job.codebaseId);
    }
  }

  async #upload(job: CodebaseTransferJob, log: Logger): Promise<void> {
    const { runtime, state } = this.#o;
    const auth = { nodeId: state.nodeId, clusterToken: this.#o.clusterToken };
    try {
      const body = await pullUpload(job.transferUrl, auth);
      const stats = await runtime.codebases.importTar(job.codebaseId, body);
      log.info({ codebaseId: job.codebaseId, ...stats }, 'codebase uploaded');
    } catch (err) {
      const info = codebaseErrorInfo(err, 'the upload');
      // A bad archive is the client's to fix (it gets the typed error): no stack in the node's log.
      if (err instanceof CodebaseError) {
        log.info(
          { codebaseId: job.codebaseId, code: err.code, reason: err.message },
          'upload refused',
        );
      } else log.warn({ codebaseId: job.codebaseId, err }, 'upload failed');
      await state.redis.hset(
        redisKeys.codebase(job.codebaseId),
        'uploadError',
        JSON.stringify(info),
      );
      await state.redis.publish(redisKeys.doneChannel(), `codebase:${job.codebaseId}`);
      return;
    }
    if (!(await state.codebase(job.codebaseId, 'creating', 'ready', null))) {
      await runtime.codebases.delete(job.codebaseId);
    }
  }

  async #export(job: CodebaseTransferJob, log: Logger): Promise<void> {
    const { runtime, state } = this.#o;
    const auth = { nodeId: state.nodeId, clusterToken: this.#o.clusterToken };
    let tar;
    try {
      tar = await runtime.codebases.exportTar(job.codebaseId, runtime.ctx.commits);
    } catch (err) {
      log.warn({ codebaseId: job.codebaseId, err }, 'export failed');
      await pushExportError(job.transferUrl, auth, codebaseErrorInfo(err, 'the export'));
      return;
    }
    await pushExport(job.transferUrl, auth, tar).catch((err: unknown) =>
      log.warn({ codebaseId: job.codebaseId, err }, 'export stream failed'),
    );
  }
}
