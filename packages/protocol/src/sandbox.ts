import { PRESET_NAMES, PolicyInputSchema } from '@cordon/policy';
import { z } from 'zod';
import { ErrorInfoSchema } from './error-info.ts';
import { IdSchema, NodeIdSchema, SandboxIdSchema } from './ids.ts';
import { LimitsSchema } from './limits.ts';

export const NETWORK_MODES = ['none', 'host'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

export const MAX_IDLE_TIMEOUT_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * `sandboxes.create` input. Give a `policy` (rules, optionally on top of a preset) or just a
 * `preset`; with neither the request is refused rather than defaulting to something permissive.
 */
export const SandboxCreateInputSchema = z
  .strictObject({
    codebaseId: IdSchema.optional(),
    policy: PolicyInputSchema.optional(),
    preset: z
      .enum(PRESET_NAMES, { error: `preset must be one of ${PRESET_NAMES.join(', ')}` })
      .optional(),
    limits: LimitsSchema.default(LimitsSchema.parse({})),
    network: z
      .enum(NETWORK_MODES, { error: `network must be one of ${NETWORK_MODES.join(', ')}` })
      .default('none'),
    strict: z.boolean({ error: 'strict must be a boolean' }).default(false),
    idleTimeoutMs: z
      .int('idleTimeoutMs must be an integer number of milliseconds')
      .min(1_000, 'idleTimeoutMs must be at least 1000')
      .max(MAX_IDLE_TIMEOUT_MS, 'idleTimeoutMs must be at most 7 days')
      .nullable()
      .default(null),
  })
  .superRefine((v, ctx) => {
    if (!v.policy && !v.preset) {
      ctx.addIssue({
        code: 'custom',
        path: ['policy'],
        message: 'give a policy (rules, optionally with a preset) or a preset such as agent-safe',
      });
    }
    if (v.preset && v.policy?.preset) {
      ctx.addIssue({
        code: 'custom',
        path: ['preset'],
        message: 'preset is given twice (top level and policy.preset); keep one',
      });
    }
  });
export type SandboxCreateInput = z.input<typeof SandboxCreateInputSchema>;
export type SandboxCreateRequest = z.output<typeof SandboxCreateInputSchema>;

export const SandboxIdInputSchema = z.strictObject({ sandboxId: SandboxIdSchema });

export const SandboxListInputSchema = z
  .strictObject({
    limit: z.int().min(1).max(1000).default(100),
  })
  .default({ limit: 100 });

/** creating → ready → destroyed; failed when the node refused it; lost when its node died. */
export const SANDBOX_STATES = ['creating', 'ready', 'failed', 'destroyed', 'lost'] as const;
export type SandboxState = (typeof SANDBOX_STATES)[number];

export const SandboxRecordSchema = z.strictObject({
  id: SandboxIdSchema,
  nodeId: NodeIdSchema,
  state: z.enum(SANDBOX_STATES),
  policyHash: z.string(),
  limits: LimitsSchema,
  network: z.enum(NETWORK_MODES),
  strict: z.boolean(),
  idleTimeoutMs: z.int().nullable(),
  codebaseId: IdSchema.nullable(),
  createdAtMs: z.int(),
  error: ErrorInfoSchema.nullable(),
});
export type SandboxRecord = z.output<typeof SandboxRecordSchema>;
