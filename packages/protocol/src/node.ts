import { z } from 'zod';
import { NodeIdSchema } from './ids.ts';

export const NODE_STATUSES = ['up', 'down'] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

/**
 * A node agent's registry record, written by the agent at registration and on every heartbeat.
 * `capacity` is how many execs it runs at once; `load` how many it is running now.
 */
export const NodeRecordSchema = z.strictObject({
  id: NodeIdSchema,
  host: z.string().min(1).max(255),
  capacity: z.int().min(1).max(100_000),
  load: z.int().min(0),
  version: z.string().min(1).max(64),
  startedAtMs: z.int(),
  heartbeatAtMs: z.int(),
  /** Host directories (prefixes) this node accepts as `path` codebases; [] = uploads only. */
  allowPaths: z.array(z.string()).default([]),
});
export type NodeRecord = z.output<typeof NodeRecordSchema>;

/** `nodes.list` rows: the record plus liveness as the gateway sees it. */
export const NodeInfoSchema = NodeRecordSchema.extend({
  status: z.enum(NODE_STATUSES),
  sandboxes: z.int().min(0),
  pendingExecs: z.int().min(0),
});
export type NodeInfo = z.output<typeof NodeInfoSchema>;
