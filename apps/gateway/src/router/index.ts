import { router } from '../trpc.ts';
import { auditRouter } from './audit.ts';
import { codebasesRouter } from './codebases.ts';
import { execsRouter } from './execs.ts';
import { policyRouter } from './policy.ts';
import { sandboxesRouter } from './sandboxes.ts';
import { sessionsRouter } from './sessions.ts';
import { healthProcedure, nodesRouter } from './system.ts';
import { tokensRouter } from './tokens.ts';

export const appRouter = router({
  health: healthProcedure,
  nodes: nodesRouter,
  policy: policyRouter,
  codebases: codebasesRouter,
  sandboxes: sandboxesRouter,
  sessions: sessionsRouter,
  execs: execsRouter,
  audit: auditRouter,
  tokens: tokensRouter,
});

/** Import as a type only (`import type { AppRouter } from '@cordon/gateway'`) in clients. */
export type AppRouter = typeof appRouter;
