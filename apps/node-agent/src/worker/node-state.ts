// The node's writes to the shared state in Redis, all through the same compare-and-set scripts
// the gateways use (packages/protocol/src/redis.ts).
import {
  FINALIZE_EXEC_LUA,
  MAX_COMMIT_PATHS,
  MAX_COMMITS_KEPT,
  MAX_DENIAL_SAMPLE,
  redisKeys,
  SANDBOX_TRANSITION_LUA,
  START_EXEC_LUA,
  STATE_TRANSITION_LUA,
  type CommitRecord,
  type CommitSummary,
  type DenialSummary,
  type ErrorInfo,
  type ExecOutcome,
} from '@cordon/protocol';
import type { Redis } from 'ioredis';
import type { CommitResult } from '../commit/index.ts';
import type { DenialEvent } from '../fs/index.ts';
import type { AfterExec } from '../sandbox/index.ts';

const START_EXEC = 'cordonStartExec';
const FINALIZE_EXEC = 'cordonFinalizeExec';

/** Denial events kept per tenant stream (XADD MAXLEN ~). */
export const DENIAL_STREAM_MAX = 10_000;

export class NodeState {
  readonly redis: Redis;
  readonly nodeId: string;
  readonly execTtlMs: number;

  constructor(redis: Redis, nodeId: string, execTtlMs: number) {
    this.redis = redis;
    this.nodeId = nodeId;
    this.execTtlMs = execTtlMs;
    // Run by SHA: the bodies cross the socket once per connection, not with every exec.
    for (const [name, numberOfKeys, lua] of [
      [START_EXEC, 1, START_EXEC_LUA],
      [FINALIZE_EXEC, 3, FINALIZE_EXEC_LUA],
    ] as const) {
      if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
    }
  }

  #script(name: string, ...args: (string | number)[]): Promise<unknown> {
    const fn = (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[
      name
    ] as (...a: unknown[]) => Promise<unknown>;
    return fn.apply(this.redis, args);
  }

  /**
   * Claims an exec (CAS queued → running, only if assigned to this node): 1 claimed, 0 not queued
   * (settled already), -2 another node's.
   */
  async claim(execId: string): Promise<number> {
    return Number(await this.#script(START_EXEC, redisKeys.exec(execId), this.nodeId, Date.now()));
  }

  async sandbox(sandboxId: string, from: string, to: string, error: ErrorInfo | null) {
    const r = await this.redis.eval(
      SANDBOX_TRANSITION_LUA,
      2,
      redisKeys.sandbox(sandboxId),
      redisKeys.sandboxCommits(sandboxId),
      from,
      to,
      error ? JSON.stringify(error) : '',
    );
    return r === 1;
  }

  async codebase(codebaseId: string, from: string, to: string, error: ErrorInfo | null) {
    return this.#transition(redisKeys.codebase(codebaseId), 'codebase', from, to, error);
  }

  async session(sessionId: string, from: string, to: string, error: ErrorInfo | null) {
    return this.#transition(redisKeys.session(sessionId), 'session', from, to, error);
  }

  async #transition(key: string, channel: string, from: string, to: string, e: ErrorInfo | null) {
    const r = await this.redis.eval(
      STATE_TRANSITION_LUA,
      1,
      key,
      from,
      to,
      e ? JSON.stringify(e) : '',
      channel,
    );
    return r === 1;
  }

  /** Settles an exec directly (CAS: a no-op when it was settled elsewhere). */
  async finalize(execId: string, outcome: ExecOutcome): Promise<boolean> {
    const r = await this.#script(
      FINALIZE_EXEC,
      redisKeys.exec(execId),
      redisKeys.execOutput(execId),
      redisKeys.nodeExecs(this.nodeId),
      outcome.status,
      outcome.result ? JSON.stringify(outcome.result) : '',
      outcome.error ? JSON.stringify(outcome.error) : '',
      Date.now(),
      this.execTtlMs,
      execId,
      'any',
    );
    return r === 1;
  }

  /** Keeps the commit in the sandbox's capped list (sandboxes.commits). */
  async recordCommit(sandboxId: string, execId: string | null, after: AfterExec): Promise<void> {
    if (!after.commit && !after.commitError) return;
    const rec = commitRecord(sandboxId, execId, after.commit, after.commitError);
    const key = redisKeys.sandboxCommits(sandboxId);
    await this.redis
      .multi()
      .lpush(key, JSON.stringify(rec))
      .ltrim(key, 0, MAX_COMMITS_KEPT - 1)
      .pexpire(key, this.execTtlMs)
      .exec();
  }

  /** Appends a denial to the tenant's capped stream (audit.denials). Fire and forget. */
  recordDenial(tenantId: string, e: DenialEvent): Promise<unknown> {
    return this.redis.xadd(
      redisKeys.tenantDenials(tenantId),
      'MAXLEN',
      '~',
      DENIAL_STREAM_MAX,
      '*',
      'sandboxId',
      e.sandboxId,
      'op',
      e.op,
      'path',
      e.path,
      'level',
      e.level,
      'required',
      e.required,
      'at',
      String(e.at),
    );
  }
}

function capped(paths: readonly string[]): { list: string[]; cut: boolean } {
  return { list: paths.slice(0, MAX_COMMIT_PATHS), cut: paths.length > MAX_COMMIT_PATHS };
}

export function commitRecord(
  sandboxId: string,
  execId: string | null,
  c: CommitResult | null,
  error: string | null,
): CommitRecord {
  const a = capped(c?.added ?? []);
  const m = capped(c?.modified ?? []);
  const d = capped(c?.deleted ?? []);
  const x = capped(c?.conflicts ?? []);
  return {
    sandboxId,
    execId,
    atMs: Date.now(),
    committed: c?.committed ?? false,
    added: a.list,
    modified: m.list,
    deleted: d.list,
    conflicts: x.list,
    pathsTruncated: a.cut || m.cut || d.cut || x.cut,
    error,
  };
}

/** The counts that travel in an exec result. Pure. */
export function commitSummary(after: AfterExec): CommitSummary | null {
  if (!after.commit && !after.commitError) return null;
  const c = after.commit;
  return {
    committed: c?.committed ?? false,
    added: c?.added.length ?? 0,
    modified: c?.modified.length ?? 0,
    deleted: c?.deleted.length ?? 0,
    conflicts: c?.conflicts.length ?? 0,
    error: after.commitError,
  };
}

export function denialSummary(denials: readonly DenialEvent[]): DenialSummary {
  return {
    count: denials.length,
    sample: denials.slice(0, MAX_DENIAL_SAMPLE).map((d) => ({
      sandboxId: d.sandboxId,
      op: d.op,
      path: d.path,
      level: d.level,
      required: d.required,
      at: Math.round(d.at),
    })),
  };
}
