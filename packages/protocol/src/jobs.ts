import { z } from 'zod';
import { ExecRequestWireSchema } from './exec-wire.ts';
import { ExecIdSchema, SandboxIdSchema, TenantIdSchema } from './ids.ts';
import { LimitsSchema } from './limits.ts';
import { NETWORK_MODES } from './sandbox.ts';

/** BullMQ job names; one queue per node (`nodeQueueName`). */
export const JOB_KINDS = ['sandbox.create', 'sandbox.destroy', 'exec'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

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

export const SandboxCreateJobSchema = z.strictObject({
  kind: z.literal('sandbox.create'),
  ...jobBase,
  sandboxId: SandboxIdSchema,
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

export const NodeJobSchema = z.discriminatedUnion('kind', [
  SandboxCreateJobSchema,
  SandboxDestroyJobSchema,
  ExecJobSchema,
]);
export type NodeJob = z.output<typeof NodeJobSchema>;
