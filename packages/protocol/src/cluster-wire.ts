import { z } from 'zod';
import { ErrorInfoSchema } from './error-info.ts';
import { ExecOutcomeSchema } from './exec.ts';
import { ExecIdSchema } from './ids.ts';
import { OutputChunkSchema } from './output.ts';

/** Path of the gateway's websocket endpoint for node agents (authenticated by the cluster token). */
export const CLUSTER_WS_PATH = '/cluster';
/** Upgrade-request header naming the node; the Authorization header carries the cluster token. */
export const NODE_ID_HEADER = 'x-cordon-node';

/** node → gateway */
export const NodeToGatewaySchema = z.discriminatedUnion('type', [
  OutputChunkSchema.extend({ type: z.literal('chunk'), execId: ExecIdSchema }),
  z.strictObject({
    type: z.literal('exit'),
    execId: ExecIdSchema,
    /** seq of the last chunk sent (0 when there was no output). */
    lastSeq: z.int().min(0),
    outcome: ExecOutcomeSchema,
  }),
]);
export type NodeToGateway = z.output<typeof NodeToGatewaySchema>;

/** gateway → node */
export const GatewayToNodeSchema = z.discriminatedUnion('type', [
  /** Everything up to and including `seq` is stored; `final` acknowledges the exit message. */
  z.strictObject({
    type: z.literal('ack'),
    execId: ExecIdSchema,
    seq: z.int().min(0),
    final: z.boolean(),
  }),
  /** The gateway will take nothing more for this exec (it ended, was canceled, or is not yours). */
  z.strictObject({ type: z.literal('reject'), execId: ExecIdSchema, error: ErrorInfoSchema }),
]);
export type GatewayToNode = z.output<typeof GatewayToNodeSchema>;
