import { z } from 'zod';
import { IdSchema, SandboxIdSchema } from './ids.ts';

const LEVELS = ['none', 'view', 'read', 'write'] as const;

/** One access the permission filesystem refused (rate-limited at the node). */
export const DenialEventSchema = z.strictObject({
  sandboxId: SandboxIdSchema,
  op: z.string().max(64),
  path: z.string().max(4096),
  level: z.enum(LEVELS),
  required: z.enum(LEVELS),
  at: z.int(),
});
export type DenialEvent = z.output<typeof DenialEventSchema>;

/** `audit.denials`: a tenant's denial events, tracked by their stream id (resumable). */
export const AuditDenialsInputSchema = z.strictObject({
  /** Only this sandbox's events. */
  sandboxId: SandboxIdSchema.optional(),
  /** The last event id received; null/absent = only new events ('$'), '0' = from the oldest kept. */
  lastEventId: z
    .string()
    .regex(/^(0|\d{1,15}-\d{1,15})$/, 'lastEventId must be an event id as received, or 0')
    .nullish(),
});

/** A commit as kept per sandbox (`sandboxes.commits`), newest first. */
export const CommitRecordSchema = z.strictObject({
  sandboxId: SandboxIdSchema,
  /** The exec (or session command / handler run) after which it was made; null when explicit. */
  execId: IdSchema.nullable(),
  atMs: z.int(),
  committed: z.boolean(),
  added: z.array(z.string()),
  modified: z.array(z.string()),
  deleted: z.array(z.string()),
  conflicts: z.array(z.string()),
  /** More paths than kept (each list is capped at MAX_COMMIT_PATHS). */
  pathsTruncated: z.boolean(),
  /** Why the commit failed (the delta is kept); null on success. */
  error: z.string().nullable(),
});
export type CommitRecord = z.output<typeof CommitRecordSchema>;
export const MAX_COMMIT_PATHS = 1000;
/** Commits kept per sandbox. */
export const MAX_COMMITS_KEPT = 100;

export const SandboxCommitsInputSchema = z.strictObject({
  sandboxId: SandboxIdSchema,
  limit: z.int().min(1).max(MAX_COMMITS_KEPT).default(20),
});
