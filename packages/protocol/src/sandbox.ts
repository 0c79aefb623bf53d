import { PRESET_NAMES, PolicyInputSchema } from '@cordon/policy';
import { z } from 'zod';
import { ErrorInfoSchema } from './error-info.ts';
import { IdSchema, NodeIdSchema, SandboxIdSchema } from './ids.ts';
import { LimitsSchema } from './limits.ts';

export const NETWORK_MODES = ['none', 'host'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

export const MAX_IDLE_TIMEOUT_MS = 7 * 24 * 60 * 60 * 1000;

/** When an exec's changes reach the codebase: always (default), on-success (exit 0), never. */
export const COMMIT_POLICIES = ['always', 'on-success', 'never'] as const;
export type CommitPolicy = (typeof COMMIT_POLICIES)[number];
/** lww (default): last writer wins, conflicts reported; reject-conflicts: refuse the whole commit. */
export const COMMIT_MODES = ['lww', 'reject-conflicts'] as const;
export type CommitMode = (typeof COMMIT_MODES)[number];

const GiB = 1024 * 1024 * 1024;
export const DEFAULT_QUOTA_BYTES = GiB;

/**
 * `sandboxes.create` input. Give a `policy` (rules, optionally on top of a preset) or just a
 * `preset`; with neither the request is refused rather than defaulting to something permissive.
 */
export const SandboxCreateInputSchema = z
  .strictObject({
    /** The codebase (codebases.create); the sandbox runs on its home node. Absent: a scratch
     *  empty codebase is made on the least loaded node and deleted with the sandbox. */
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
    commit: z
      .enum(COMMIT_POLICIES, { error: `commit must be one of ${COMMIT_POLICIES.join(', ')}` })
      .default('always'),
    commitMode: z
      .enum(COMMIT_MODES, { error: `commitMode must be one of ${COMMIT_MODES.join(', ')}` })
      .default('lww'),
    /** Bytes of changed files the sandbox may hold before writes fail with ENOSPC. Default 1 GiB. */
    quotaBytes: z
      .int('quotaBytes must be an integer number of bytes')
      .min(1024 * 1024, 'quotaBytes must be at least 1 MiB')
      .max(1024 * GiB, 'quotaBytes must be at most 1 TiB')
      .default(DEFAULT_QUOTA_BYTES),
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
  commit: z.enum(COMMIT_POLICIES),
  commitMode: z.enum(COMMIT_MODES),
  quotaBytes: z.int(),
  codebaseId: IdSchema,
  createdAtMs: z.int(),
  error: ErrorInfoSchema.nullable(),
});
export type SandboxRecord = z.output<typeof SandboxRecordSchema>;
