import { z } from 'zod';
import { DenialEventSchema } from './audit.ts';
import { ErrorInfoSchema } from './error-info.ts';
import { JsonValueSchema } from './json.ts';
import { ExecIdSchema, IdSchema, NodeIdSchema, SandboxIdSchema } from './ids.ts';
import { LimitsOverrideSchema } from './limits.ts';

export const MAX_ARGV_ITEMS = 4096;
export const MAX_ARG_BYTES = 128 * 1024;
export const MAX_ENV_ENTRIES = 1024;
export const MAX_STDIN_BYTES = 1024 * 1024;
export const MAX_WAIT_MS = 10 * 60 * 1000;
export const DEFAULT_WAIT_MS = 60 * 1000;
export const MAX_DENIAL_SAMPLE = 20;

const byteLength = (max: number, what: string) =>
  z
    .string()
    .refine((s) => Buffer.byteLength(s) <= max, { message: `${what} exceeds ${max} bytes` });

/** `sandboxes.exec` input: an argument vector (never a shell string; wrap in sh -c yourself). */
export const ExecInputSchema = z.strictObject({
  sandboxId: SandboxIdSchema,
  argv: z
    .array(byteLength(MAX_ARG_BYTES, 'an argument'), { error: 'argv must be an array of strings' })
    .min(1, 'argv is empty; give the program and its arguments, e.g. ["ls", "-la"]')
    .max(MAX_ARGV_ITEMS, `argv has more than ${MAX_ARGV_ITEMS} items`),
  /** Working directory inside the sandbox, codebase-relative with a leading '/'. Default '/'. */
  cwd: z
    .string()
    .startsWith('/', 'cwd must start with / (it is relative to the codebase root)')
    .max(4096)
    .refine((p) => !p.split('/').includes('..'), { message: "cwd must not contain '..'" })
    .default('/'),
  env: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'env names must match [A-Za-z_][A-Za-z0-9_]*'),
      byteLength(MAX_ARG_BYTES, 'an env value'),
    )
    .refine((e) => Object.keys(e).length <= MAX_ENV_ENTRIES, {
      message: `env has more than ${MAX_ENV_ENTRIES} entries`,
    })
    .default({}),
  /** UTF-8 text fed to stdin, then closed. Larger inputs belong in the codebase. */
  stdin: byteLength(MAX_STDIN_BYTES, 'stdin').nullable().default(null),
  limits: LimitsOverrideSchema.optional(),
});
export type ExecInput = z.input<typeof ExecInputSchema>;
export type ExecRequest = z.output<typeof ExecInputSchema>;

export const ExecIdInputSchema = z.strictObject({ execId: ExecIdSchema });

export const ExecWaitInputSchema = z.strictObject({
  execId: ExecIdSchema,
  /** How long this call waits before answering TIMEOUT (the exec keeps running). */
  waitMs: z
    .int('waitMs must be an integer number of milliseconds')
    .min(0)
    .max(MAX_WAIT_MS, `waitMs must be at most ${MAX_WAIT_MS}`)
    .default(DEFAULT_WAIT_MS),
});

export const CommitSummarySchema = z.strictObject({
  committed: z.boolean(),
  added: z.int().min(0),
  modified: z.int().min(0),
  deleted: z.int().min(0),
  conflicts: z.int().min(0),
  /** Why the commit failed (the delta is kept for a later commit); null otherwise. */
  error: z.string().nullable(),
});
export type CommitSummary = z.output<typeof CommitSummarySchema>;

/** Denied accesses during one exec: how many, and the first few (all of them: `audit.denials`). */
export const DenialSummarySchema = z.strictObject({
  count: z.int().min(0),
  sample: z.array(DenialEventSchema).max(MAX_DENIAL_SAMPLE),
});
export type DenialSummary = z.output<typeof DenialSummarySchema>;

/** What a handler run returned (`sandboxes.handler`); absent on plain execs. */
export const HandlerOutcomeSchema = z.strictObject({
  result: JsonValueSchema,
  error: z.strictObject({ type: z.string(), message: z.string(), stack: z.string() }).nullable(),
  stdout: z.string(),
  stderr: z.string(),
});
export type HandlerOutcome = z.output<typeof HandlerOutcomeSchema>;

export const ExecResultSchema = z.strictObject({
  exitCode: z.int().nullable(),
  signal: z.string().nullable(),
  timedOut: z.boolean(),
  oomKilled: z.boolean(),
  canceled: z.boolean(),
  durationMs: z.number().min(0),
  stdoutBytes: z.int().min(0),
  stderrBytes: z.int().min(0),
  /** Output beyond `limits.outputBytes` was dropped (the command kept running). */
  truncated: z.boolean(),
  /** The commit that followed (null: commit policy, other execs still running, or none needed). */
  commit: CommitSummarySchema.nullable(),
  denials: DenialSummarySchema,
  handler: HandlerOutcomeSchema.optional(),
});
export type ExecResult = z.output<typeof ExecResultSchema>;

/**
 * queued → running → exited | canceled | failed. `failed` means Cordon could not run or finish
 * the command (error says why, e.g. NODE_LOST); a command that ran and exited non-zero is `exited`.
 */
export const EXEC_KINDS = ['exec', 'session', 'handler', 'pty'] as const;
export type ExecKind = (typeof EXEC_KINDS)[number];

export const EXEC_STATUSES = ['queued', 'running', 'exited', 'canceled', 'failed'] as const;
export type ExecStatus = (typeof EXEC_STATUSES)[number];
export const TERMINAL_EXEC_STATUSES: readonly ExecStatus[] = ['exited', 'canceled', 'failed'];
export function isTerminalExecStatus(s: ExecStatus): boolean {
  return TERMINAL_EXEC_STATUSES.includes(s);
}

export const ExecRecordSchema = z.strictObject({
  id: ExecIdSchema,
  sandboxId: SandboxIdSchema,
  nodeId: NodeIdSchema,
  status: z.enum(EXEC_STATUSES),
  /**
   * exec: sandboxes.exec; session: sessions.exec (argv = [command]); handler: sandboxes.handler;
   * pty: the shell of a terminal session (sessions.create with pty).
   */
  kind: z.enum(EXEC_KINDS),
  sessionId: IdSchema.nullable(),
  argv: z.array(z.string()),
  createdAtMs: z.int(),
  startedAtMs: z.int().nullable(),
  endedAtMs: z.int().nullable(),
  result: ExecResultSchema.nullable(),
  error: ErrorInfoSchema.nullable(),
});
export type ExecRecord = z.output<typeof ExecRecordSchema>;

/** How an exec ended, as the node reports it and as `execs.wait` / the output stream carry it. */
export const ExecOutcomeSchema = z.strictObject({
  status: z.enum(['exited', 'canceled', 'failed']),
  result: ExecResultSchema.nullable(),
  error: ErrorInfoSchema.nullable(),
});
export type ExecOutcome = z.output<typeof ExecOutcomeSchema>;

export const ExecIdResponseSchema = z.strictObject({ execId: ExecIdSchema });
