import { router } from '../trpc.ts';
import { execsRouter } from './execs.ts';
import { policyRouter } from './policy.ts';
import { sandboxesRouter } from './sandboxes.ts';
import { healthProcedure, nodesRouter } from './system.ts';

export const appRouter = router({
  health: healthProcedure,
  nodes: nodesRouter,
  policy: policyRouter,
  sandboxes: sandboxesRouter,
  execs: execsRouter,
});

/** Import as a type only (`import type { AppRouter } from '@cordon/gateway'`) in clients. */
export type AppRouter = typeof appRouter;
