import { z } from 'zod';
import { ErrorInfoSchema } from './error-info.ts';
import { IdSchema, NodeIdSchema } from './ids.ts';

/**
 * Where a codebase's files come from:
 * - `upload`: an empty managed directory on the home node, filled by one tar stream
 *   (`PUT /v1/codebases/<id>/tar`, see UPLOAD_PATH); the codebase is `creating` until then.
 * - `path`: a directory that already exists on a node which allows that path (`--allow-path`);
 *   commits land in it. Deleting the codebase never deletes that directory.
 * - `empty`: an empty managed directory, ready at once.
 */
export const CODEBASE_SOURCES = ['upload', 'path', 'empty'] as const;
export type CodebaseSource = (typeof CODEBASE_SOURCES)[number];

/** creating → ready → deleted; failed when the node refused it; lost when its node died. */
export const CODEBASE_STATES = ['creating', 'ready', 'failed', 'deleted', 'lost'] as const;
export type CodebaseState = (typeof CODEBASE_STATES)[number];

export const MAX_HOST_PATH_CHARS = 4096;

const HostPathSchema = z
  .string({ error: 'path must be a string' })
  .min(1)
  .max(MAX_HOST_PATH_CHARS)
  .startsWith('/', 'path must be absolute (a directory on the node)')
  .refine((p) => !p.includes('\0'), { message: 'path must not contain NUL' });

export const CodebaseCreateInputSchema = z.strictObject({
  source: z.discriminatedUnion(
    'kind',
    [
      z.strictObject({ kind: z.literal('upload') }),
      z.strictObject({ kind: z.literal('empty') }),
      z.strictObject({
        kind: z.literal('path'),
        path: HostPathSchema,
        /** The node that holds the path; default: a live node whose allow-list covers it. */
        nodeId: NodeIdSchema.optional(),
      }),
    ],
    { error: "source must be { kind: 'upload' }, { kind: 'empty' } or { kind: 'path', path }" },
  ),
  /** A label for people; not unique. */
  name: z.string().max(200).optional(),
});
export type CodebaseCreateInput = z.input<typeof CodebaseCreateInputSchema>;

export const CodebaseIdInputSchema = z.strictObject({ codebaseId: IdSchema });

export const CodebaseListInputSchema = z
  .strictObject({ limit: z.int().min(1).max(1000).default(100) })
  .default({ limit: 100 });

export const CodebaseRecordSchema = z.strictObject({
  id: IdSchema,
  /** The home node: the codebase's files live there and its sandboxes run there. */
  nodeId: NodeIdSchema,
  state: z.enum(CODEBASE_STATES),
  source: z.enum(CODEBASE_SOURCES),
  /** The node's directory for `path` codebases; null for managed ones. */
  path: z.string().nullable(),
  name: z.string().nullable(),
  /** Created implicitly for a sandbox without codebaseId; deleted with that sandbox. */
  scratch: z.boolean(),
  /** Where to PUT the tar of an `upload` codebase (relative to the gateway's origin); else null. */
  uploadPath: z.string().nullable(),
  createdAtMs: z.int(),
  error: ErrorInfoSchema.nullable(),
});
export type CodebaseRecord = z.output<typeof CodebaseRecordSchema>;

/** HTTP routes beside tRPC (same bearer token): tar upload and export of a codebase. */
export const CODEBASE_HTTP_PREFIX = '/v1/codebases/';
export function uploadPath(codebaseId: string): string {
  return `${CODEBASE_HTTP_PREFIX}${codebaseId}/tar`;
}
/** Gateway endpoint node agents use to pull an upload / push an export (cluster token). */
export const CLUSTER_TRANSFER_PREFIX = '/cluster/transfers/';
/** On a node's export PUT: the export failed, the header holds the ErrorInfo JSON, no body. */
export const TRANSFER_ERROR_HEADER = 'x-cordon-error';
