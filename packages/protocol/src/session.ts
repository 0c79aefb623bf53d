import { z } from 'zod';
import { ErrorInfoSchema } from './error-info.ts';
import { JsonValueSchema } from './json.ts';
import { ExecIdSchema, IdSchema, NodeIdSchema, SandboxIdSchema } from './ids.ts';

// Requests of sessions (a persistent shell in a sandbox) and handlers (run code on an event).
// Sessions live in the node agent's memory: a node restart closes them (their commands fail
// NODE_LOST or answer NOT_FOUND afterwards).
//
// A session is either a command shell (sessions.exec runs one delimited command at a time) or a
// terminal (`pty`): an interactive bash on a pseudo-terminal whose output is the stream of one
// exec (execs.output / execs.wait of `execId`) and whose input and size come from sessions.input
// and sessions.resize.

/** Largest terminal dimension accepted (the kernel takes 16 bits; nothing real needs more). */
export const MAX_PTY_DIMENSION = 10_000;
const dimension = (name: string) =>
  z
    .int(`${name} must be an integer number of character cells`)
    .min(1, `${name} must be at least 1`)
    .max(MAX_PTY_DIMENSION, `${name} must be at most ${MAX_PTY_DIMENSION}`);

export const PtySizeSchema = z.strictObject({ cols: dimension('cols'), rows: dimension('rows') });
export type PtySize = z.output<typeof PtySizeSchema>;

export const PtyRequestSchema = z.strictObject({
  ...PtySizeSchema.shape,
  /** TERM inside the sandbox (terminfo name). Default xterm-256color. */
  term: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/, 'term must be a terminfo name like xterm-256color')
    .default('xterm-256color'),
});

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
  /** Open an interactive terminal of this size instead of a command shell. */
  pty: PtyRequestSchema.nullable().default(null),
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
  /** Terminal sessions: the size asked for at creation; null for command shells. */
  pty: PtySizeSchema.nullable(),
  /** Terminal sessions: the exec whose output is the terminal's and whose exit is the shell's. */
  execId: ExecIdSchema.nullable(),
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

/** Largest input of one sessions.input call (a paste larger than this takes several calls). */
export const MAX_PTY_INPUT_BYTES = 64 * 1024;

export const SessionInputSchema = z
  .strictObject({
    sessionId: IdSchema,
    /** What the user typed, as the terminal sends it: "ls\r", "\u0003" for Ctrl-C. */
    data: z.string().min(1, 'data is empty'),
    /** base64 for input that is not UTF-8 text (raw bytes from a terminal). Default utf8. */
    encoding: z.enum(['utf8', 'base64']).default('utf8'),
  })
  .refine((i) => Buffer.byteLength(i.data, i.encoding) <= MAX_PTY_INPUT_BYTES, {
    message: `data exceeds ${MAX_PTY_INPUT_BYTES} bytes; send it in several calls`,
    path: ['data'],
  });

export const SessionResizeInputSchema = z.strictObject({
  sessionId: IdSchema,
  ...PtySizeSchema.shape,
});

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
