import { describe, expect, it } from 'vitest';
import {
  CodebaseCreateInputSchema,
  EXEC_QUEUE_KINDS,
  JOB_KINDS,
  DEFAULT_LIMITS,
  ERROR_CODES,
  ExecInputSchema,
  ExecOutputInputSchema,
  ExecResultSchema,
  MAX_CHUNK_BYTES,
  mergeLimits,
  NodeJobSchema,
  NodeToGatewaySchema,
  OutputChunkSchema,
  SandboxCreateInputSchema,
  seqOfStreamId,
  streamId,
} from '../src/index.ts';

const pathsOf = (r: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) =>
  (r.error?.issues ?? []).map((i) => i.path.join('.'));

describe('protocol schemas', () => {
  it('defaults sandbox limits to the documented product defaults', () => {
    const r = SandboxCreateInputSchema.parse({ preset: 'agent-safe' });
    expect(r.limits).toEqual(DEFAULT_LIMITS);
    expect(r).toMatchObject({ network: 'none', strict: false, idleTimeoutMs: null });
  });

  it('names the offending field', () => {
    expect(
      pathsOf(SandboxCreateInputSchema.safeParse({ preset: 'agent-safe', limits: { pids: 0 } })),
    ).toEqual(['limits.pids']);
    expect(
      pathsOf(SandboxCreateInputSchema.safeParse({ preset: 'agent-safe', limits: { cpus: 1 } })),
    ).toEqual(['limits']);
    expect(pathsOf(SandboxCreateInputSchema.safeParse({}))).toEqual(['policy']);
    expect(pathsOf(SandboxCreateInputSchema.safeParse({ preset: 'nope' }))).toEqual(['preset']);
    expect(pathsOf(ExecInputSchema.safeParse({ sandboxId: 'sb_1', argv: [] }))).toEqual(['argv']);
    expect(pathsOf(ExecInputSchema.safeParse({ sandboxId: '../x', argv: ['a'] }))).toEqual([
      'sandboxId',
    ]);
    expect(
      pathsOf(ExecInputSchema.safeParse({ sandboxId: 'sb_1', argv: ['a'], env: { 'A=B': 'x' } })),
    ).toEqual(['env.A=B']);
  });

  it('refuses both a top-level preset and policy.preset', () => {
    const r = SandboxCreateInputSchema.safeParse({
      preset: 'agent-safe',
      policy: { preset: 'read-only' },
    });
    expect(pathsOf(r)).toEqual(['preset']);
  });

  it('bounds output chunks to 64 KiB decoded and base64 only', () => {
    const ok = Buffer.alloc(MAX_CHUNK_BYTES, 1).toString('base64');
    expect(OutputChunkSchema.safeParse({ seq: 1, stream: 'stdout', data: ok }).success).toBe(true);
    const big = Buffer.alloc(MAX_CHUNK_BYTES + 3, 1).toString('base64');
    expect(OutputChunkSchema.safeParse({ seq: 1, stream: 'stdout', data: big }).success).toBe(
      false,
    );
    expect(
      OutputChunkSchema.safeParse({ seq: 1, stream: 'stdout', data: 'not base64!' }).success,
    ).toBe(false);
    expect(OutputChunkSchema.safeParse({ seq: 0, stream: 'stdout', data: '' }).success).toBe(false);
  });

  it('accepts only numeric last event ids', () => {
    expect(ExecOutputInputSchema.safeParse({ execId: 'ex_1', lastEventId: '12' }).success).toBe(
      true,
    );
    expect(ExecOutputInputSchema.safeParse({ execId: 'ex_1', lastEventId: '1-0' }).success).toBe(
      false,
    );
  });

  it('merges per-exec limit overrides, including an explicit null timeout', () => {
    const base = { ...DEFAULT_LIMITS, timeoutMs: 5_000 };
    expect(mergeLimits(base, { pids: 10 })).toEqual({ ...base, pids: 10 });
    expect(mergeLimits(base, { timeoutMs: null }).timeoutMs).toBeNull();
    expect(mergeLimits(base, undefined)).toBe(base);
  });

  it('validates jobs and cluster frames as closed unions', () => {
    expect(NodeJobSchema.safeParse({ kind: 'rm -rf' }).success).toBe(false);
    const exec = {
      kind: 'exec',
      requestId: 'r',
      tenantId: 't',
      execId: 'ex_1',
      sandboxId: 'sb_1',
      policyHash: 'sha256:x',
      request: { argv: ['true'], cwd: '/', env: {}, stdin: null, limits: DEFAULT_LIMITS },
      replyTo: 'ws://127.0.0.1:1/cluster',
    };
    expect(NodeJobSchema.safeParse(exec).success).toBe(true);
    expect(NodeJobSchema.safeParse({ ...exec, replyTo: 'http://x/cluster' }).success).toBe(false);
    expect(
      NodeToGatewaySchema.safeParse({
        type: 'chunk',
        execId: 'ex_1',
        seq: 1,
        stream: 'stdout',
        data: '',
      }).success,
    ).toBe(true);
    expect(
      NodeToGatewaySchema.safeParse({
        type: 'exit',
        execId: 'ex_1',
        lastSeq: 0,
        outcome: { status: 'exited', result: null, error: null },
      }).success,
    ).toBe(true);
  });

  it('keeps the exec result shape strict', () => {
    const r = {
      exitCode: 0,
      signal: null,
      timedOut: false,
      oomKilled: false,
      canceled: false,
      durationMs: 1,
      stdoutBytes: 0,
      stderrBytes: 0,
      truncated: false,
      commit: null,
      denials: { count: 0, sample: [] },
    };
    expect(ExecResultSchema.safeParse(r).success).toBe(true);
    expect(ExecResultSchema.safeParse({ ...r, denials: undefined }).success).toBe(false);
    expect(ExecResultSchema.safeParse({ ...r, extra: 1 }).success).toBe(false);
  });

  it('maps seqs to stream ids and back', () => {
    expect(streamId(42)).toBe('42-0');
    expect(seqOfStreamId('42-0')).toBe(42);
    expect(ERROR_CODES).toContain('NODE_LOST');
  });

  it('validates codebase sources and sandbox commit options', () => {
    expect(CodebaseCreateInputSchema.safeParse({ source: { kind: 'upload' } }).success).toBe(true);
    expect(
      CodebaseCreateInputSchema.safeParse({ source: { kind: 'path', path: 'rel/dir' } }).success,
    ).toBe(false);
    expect(CodebaseCreateInputSchema.safeParse({ source: { kind: 'git' } }).success).toBe(false);
    const sb = SandboxCreateInputSchema.parse({ preset: 'agent-safe' });
    expect(sb).toMatchObject({ commit: 'always', commitMode: 'lww', quotaBytes: 1024 ** 3 });
    expect(
      SandboxCreateInputSchema.safeParse({ preset: 'agent-safe', commit: 'sometimes' }).success,
    ).toBe(false);
    expect(JOB_KINDS).toContain('codebase.upload');
    expect(EXEC_QUEUE_KINDS).toEqual(['exec', 'session.exec', 'session.pty', 'handler']);
  });
});
