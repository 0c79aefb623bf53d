import { initTRPC } from '@trpc/server';
import type { Context } from './context.ts';
import { GatewayError } from './errors.ts';
import { describeError } from './format-error.ts';

const t = initTRPC.context<Context>().create({
  // Clients get a code, a how-to-fix message and field issues; never a stack or internal detail.
  // Internal errors are logged by the adapters' onError (server.ts), which also sees errors
  // thrown while creating the context, when there is no ctx.log yet.
  errorFormatter({ shape, error, path }) {
    const { message, data } = describeError(error);
    return {
      code: shape.code,
      message,
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: path ?? null,
        cordonCode: data.cordonCode,
        issues: data.issues,
      },
    };
  },
});

export const router = t.router;
export const publicProcedure = t.procedure;

/** Any valid token (read scope is enough). */
export const authedProcedure = t.procedure.use(({ ctx, next }) => {
  if (!ctx.principal) {
    throw new GatewayError(
      'UNAUTHORIZED',
      'missing or unknown API token; send Authorization: Bearer <token> (HTTP) or connectionParams.token (websocket)',
    );
  }
  return next({ ctx: { ...ctx, principal: ctx.principal } });
});

/** Changes state: needs a write or admin token. */
export const writeProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.principal.scope === 'read') {
    throw new GatewayError('FORBIDDEN', 'this token is read-only; use a token with write scope');
  }
  return next();
});

/** Cluster administration: admin tokens only. */
export const adminProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.principal.scope !== 'admin') {
    throw new GatewayError('FORBIDDEN', 'this needs an admin token');
  }
  return next();
});
