import { z } from 'zod';
import { ErrorInfoSchema } from './error-info.ts';
import { JsonValueSchema } from './json.ts';
import { IdSchema, NodeIdSchema, SandboxIdSchema } from './ids.ts';

// Requests of sessions (a persistent shell in a sandbox) and handlers (run code on an event).
// Sessions live in the node agent's memory: a node restart closes them (their commands fail
// NODE_LOST or answer NOT_FOUND afterwards).

export const SessionCreateInputSchema = z.strictObject({
  sandboxId: SandboxIdSchema,
  /** Closes the session after this long without a command. Default 15 min. */
  idleTimeoutMs: z
    .int('idleTimeoutMs must be an integer number of milliseconds')
    .min(1_000, 'idleTimeoutMs must be at least 1000')
    .max(24 * 60 * 60 * 1000, 'idleTimeoutMs must be at most 24 h')
    .default(15 * 60 * 1000),
  /** Initial environment of the session's shell. */
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().max(128 * 1024))
    .default({}),
});

export const SESSION_STATES = ['opening', 'open', 'closed', 'failed'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

export const SessionRecordSchema = z.strictObject({
  id: IdSchema,
  sandboxId: SandboxIdSchema,
  nodeId: NodeIdSchema,
  state: z.enum(SESSION_STATES),
  createdAtMs: z.int(),
  error: ErrorInfoSchema.nullable(),
});
export type SessionRecord = z.output<typeof SessionRecordSchema>;

export const SessionExecInputSchema = z.strictObject({
  sessionId: IdSchema,
  command: z
    .string()
    .min(1, 'command is empty')
    .max(128 * 1024, 'command exceeds 128 KiB'),
  timeoutMs: z
    .int()
    .min(1)
    .max(24 * 60 * 60 * 1000)
    .nullable()
    .default(null),
  /** Output cap of this command. Default the sandbox's limits.outputBytes. */
  outputBytes: z
    .int()
    .min(0)
    .max(16 * 1024 * 1024 * 1024)
    .optional(),
});

export const SessionCloseInputSchema = z.strictObject({ sessionId: IdSchema });

export const HANDLER_LANGUAGES = ['python', 'javascript'] as const;
export type HandlerLanguage = (typeof HANDLER_LANGUAGES)[number];
/** Largest handler result (JSON) over the API; beyond it the run reports ResultTooLarge. */
export const MAX_HANDLER_RESULT_BYTES = 1024 * 1024;
export const MAX_HANDLER_CODE_BYTES = 1024 * 1024;
export const MAX_HANDLER_EVENT_BYTES = 1024 * 1024;

export const HandlerInputSchema = z.strictObject({
  sandboxId: SandboxIdSchema,
  language: z.enum(HANDLER_LANGUAGES, {
    error: `language must be one of ${HANDLER_LANGUAGES.join(', ')}`,
  }),
  code: z
    .string()
    .min(1, 'code is empty')
    .refine((c) => Buffer.byteLength(c) <= MAX_HANDLER_CODE_BYTES, {
      message: `code exceeds ${MAX_HANDLER_CODE_BYTES} bytes`,
    }),
  /** Any JSON value, handed to the handler as its event. */
  event: JsonValueSchema.default(null).refine(
    (e) => Buffer.byteLength(JSON.stringify(e)) <= MAX_HANDLER_EVENT_BYTES,
    {
      message: `event exceeds ${MAX_HANDLER_EVENT_BYTES} bytes as JSON`,
    },
  ),
  timeoutMs: z
    .int()
    .min(1)
    .max(24 * 60 * 60 * 1000)
    .nullable()
    .default(null),
});
