import { NodeInfoSchema } from '@cordon/protocol';
import { z } from 'zod';
import { listNodes } from '../state/nodes.ts';
import { authedProcedure, publicProcedure, router } from '../trpc.ts';

export const healthProcedure = publicProcedure
  .output(z.strictObject({ ok: z.boolean(), version: z.string(), nodesUp: z.int() }))
  .query(async ({ ctx }) => {
    const nodes = await listNodes(ctx.services.redis);
    return {
      ok: true,
      version: ctx.services.options.version,
      nodesUp: nodes.filter((n) => n.status === 'up').length,
    };
  });

export const nodesRouter = router({
  list: authedProcedure
    .output(z.array(NodeInfoSchema))
    .query(({ ctx }) => listNodes(ctx.services.redis)),
});
