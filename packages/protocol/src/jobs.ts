import { z } from 'zod';
import { ExecRequestWireSchema } from './exec-wire.ts';
import { ExecIdSchema, IdSchema, SandboxIdSchema, TenantIdSchema } from './ids.ts';
import { JsonValueSchema } from './json.ts';
import { LimitsSchema } from './limits.ts';
import { COMMIT_MODES, COMMIT_POLICIES, NETWORK_MODES } from './sandbox.ts';
import { HANDLER_LANGUAGES, PtyRequestSchema } from './session.ts';

/** BullMQ job names; one queue per node (`nodeQueueName`). */
export const JOB_KINDS = [
  'codebase.create',
  'codebase.upload',
  'codebase.export',
  'codebase.delete',
  'sandbox.create',
  'sandbox.destroy',
  'exec',
  'session.open',
  'session.pty',
  'session.exec',
  'session.close',
  'handler',
] as const;
export type JobKind = (typeof JOB_KINDS)[number];
/** Jobs that take an exec slot (the node's exec queue); the rest go to its control queue. */
export const EXEC_QUEUE_KINDS: readonly JobKind[] = [
  'exec',
  'session.exec',
  'session.pty',
  'handler',
];

/** A compiled policy as it travels: the node recompiles `canonical` and refuses a hash mismatch. */
export const PolicyWireSchema = z.strictObject({
  canonical: z.unknown(),
  hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'hash must be sha256:<64 hex>'),
});
export type PolicyWire = z.output<typeof PolicyWireSchema>;

const jobBase = {
  /** Follows the request from gateway logs to node logs. */
  requestId: z.string().min(1).max(128),
  tenantId: TenantIdSchema,
};

/** `path` and `empty` codebases: the node checks the path against its allow-list and records it. */
export const CodebaseCreateJobSchema = z.strictObject({
  kind: z.literal('codebase.create'),
  ...jobBase,
  codebaseId: IdSchema,
  source: z.enum(['path', 'empty']),
  path: z.string().nullable(),
});
export type CodebaseCreateJob = z.output<typeof CodebaseCreateJobSchema>;

/**
 * Transfers: the node dials `transferUrl` (an HTTP URL on the dispatching gateway, cluster token)
 * and GETs the uploaded tar (upload) or PUTs the codebase's tar (export). The bytes stream
 * client ⇄ gateway ⇄ node without being stored anywhere on the way.
 */
export const CodebaseTransferJobSchema = z.strictObject({
  kind: z.enum(['codebase.upload', 'codebase.export']),
  ...jobBase,
  codebaseId: IdSchema,
  transferUrl: z.url({ protocol: /^https?$/ }),
});
export type CodebaseTransferJob = z.output<typeof CodebaseTransferJobSchema>;

export const CodebaseDeleteJobSchema = z.strictObject({
  kind: z.literal('codebase.delete'),
  ...jobBase,
  codebaseId: IdSchema,
});
export type CodebaseDeleteJob = z.output<typeof CodebaseDeleteJobSchema>;

export const SandboxCreateJobSchema = z.strictObject({
  kind: z.literal('sandbox.create'),
  ...jobBase,
  sandboxId: SandboxIdSchema,
  codebaseId: IdSchema,
  /** Make `codebaseId` as an empty managed codebase first (a sandbox without a codebase). */
  scratch: z.boolean(),
  commit: z.enum(COMMIT_POLICIES),
  commitMode: z.enum(COMMIT_MODES),
  quotaBytes: z.int().min(1),
  policy: PolicyWireSchema,
  limits: LimitsSchema,
  network: z.enum(NETWORK_MODES),
  strict: z.boolean(),
  idleTimeoutMs: z.int().nullable(),
});
export type SandboxCreateJob = z.output<typeof SandboxCreateJobSchema>;

export const SandboxDestroyJobSchema = z.strictObject({
  kind: z.literal('sandbox.destroy'),
  ...jobBase,
  sandboxId: SandboxIdSchema,
  /** Also delete this (scratch) codebase once the sandbox is gone. */
  deleteCodebaseId: IdSchema.nullable(),
});
export type SandboxDestroyJob = z.output<typeof SandboxDestroyJobSchema>;

export const ExecJobSchema = z.strictObject({
  kind: z.literal('exec'),
  ...jobBase,
  execId: ExecIdSchema,
  sandboxId: SandboxIdSchema,
  /** The node checks it holds the sandbox under this policy before running anything. */
  policyHash: z.string(),
  request: ExecRequestWireSchema,
  /** ws(s) URL of the dispatching gateway's cluster endpoint; the node dials it for output. */
  replyTo: z.url({ protocol: /^wss?$/, error: 'replyTo must be a ws:// or wss:// URL' }),
});
export type ExecJob = z.output<typeof ExecJobSchema>;

export const SessionOpenJobSchema = z.strictObject({
  kind: z.literal('session.open'),
  ...jobBase,
  sessionId: IdSchema,
  sandboxId: SandboxIdSchema,
  idleTimeoutMs: z.int().min(1),
  env: z.record(z.string(), z.string()),
});
export type SessionOpenJob = z.output<typeof SessionOpenJobSchema>;

/**
 * A terminal session: its shell is exec `execId` (an exec slot for its lifetime, output to
 * `replyTo`); input and resizes come from the session's input stream.
 */
export const SessionPtyJobSchema = z.strictObject({
  kind: z.literal('session.pty'),
  ...jobBase,
  execId: ExecIdSchema,
  sessionId: IdSchema,
  sandboxId: SandboxIdSchema,
  idleTimeoutMs: z.int().min(1),
  env: z.record(z.string(), z.string()),
  pty: PtyRequestSchema,
  replyTo: z.url({ protocol: /^wss?$/ }),
});
export type SessionPtyJob = z.output<typeof SessionPtyJobSchema>;

export const SessionExecJobSchema = z.strictObject({
  kind: z.literal('session.exec'),
  ...jobBase,
  execId: ExecIdSchema,
  sessionId: IdSchema,
  sandboxId: SandboxIdSchema,
  command: z.string(),
  timeoutMs: z.int().min(1).nullable(),
  outputBytes: z.int().min(0),
  replyTo: z.url({ protocol: /^wss?$/ }),
});
export type SessionExecJob = z.output<typeof SessionExecJobSchema>;

export const SessionCloseJobSchema = z.strictObject({
  kind: z.literal('session.close'),
  ...jobBase,
  sessionId: IdSchema,
});
export type SessionCloseJob = z.output<typeof SessionCloseJobSchema>;

export const HandlerJobSchema = z.strictObject({
  kind: z.literal('handler'),
  ...jobBase,
  execId: ExecIdSchema,
  sandboxId: SandboxIdSchema,
  language: z.enum(HANDLER_LANGUAGES),
  code: z.string(),
  event: JsonValueSchema,
  timeoutMs: z.int().min(1).nullable(),
  replyTo: z.url({ protocol: /^wss?$/ }),
});
export type HandlerJob = z.output<typeof HandlerJobSchema>;

export const NodeJobSchema = z.discriminatedUnion('kind', [
  CodebaseCreateJobSchema,
  CodebaseTransferJobSchema,
  CodebaseDeleteJobSchema,
  SandboxCreateJobSchema,
  SandboxDestroyJobSchema,
  ExecJobSchema,
  SessionOpenJobSchema,
  SessionPtyJobSchema,
  SessionExecJobSchema,
  SessionCloseJobSchema,
  HandlerJobSchema,
]);
export type NodeJob = z.output<typeof NodeJobSchema>;
