import { z } from 'zod';
import { IdSchema, SandboxIdSchema } from './ids.ts';

// Requests of sessions (a persistent shell in a sandbox) and handlers (run code on an event).
// Defined here so both sides share them; the gateway does not route them yet.

export const SessionCreateInputSchema = z.strictObject({
  sandboxId: SandboxIdSchema,
  shell: z.enum(['bash', 'sh']).default('bash'),
});

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
});

export const SessionCloseInputSchema = z.strictObject({ sessionId: IdSchema });

export const HANDLER_LANGUAGES = ['python', 'node', 'bash'] as const;
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
  event: z.json().refine((e) => Buffer.byteLength(JSON.stringify(e)) <= MAX_HANDLER_EVENT_BYTES, {
    message: `event exceeds ${MAX_HANDLER_EVENT_BYTES} bytes as JSON`,
  }),
  timeoutMs: z
    .int()
    .min(1)
    .max(24 * 60 * 60 * 1000)
    .nullable()
    .default(null),
});
