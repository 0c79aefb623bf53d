import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AnyRouter } from '@trpc/server';
import type { Logger } from 'pino';
import type { Context } from '../context.ts';
import { EXEC_OUTPUT_ROUTE, serveExecOutput, type ExecOutputHttpOptions } from './exec-output.ts';
import { REST_PREFIX } from './derive.ts';
import { createRestSurface, OPENAPI_PATH } from './openapi.ts';

export interface RestRoutesOptions {
  readonly appRouter: AnyRouter;
  readonly createContext: (req: IncomingMessage) => Promise<Context>;
  readonly version: string;
  readonly output: ExecOutputHttpOptions;
  readonly log: Logger;
}

/** `/openapi.json`, `GET /v1/execs/<id>/output` and the generated `/v1/...` REST routes. */
export interface RestRoutes {
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean;
}

export function createRestRoutes(o: RestRoutesOptions): RestRoutes {
  const surface = createRestSurface(o.appRouter, o.createContext, o.version);
  if (surface.skipped.length > 0) {
    o.log.debug({ skipped: surface.skipped }, 'procedures without a REST route');
  }
  const body = JSON.stringify(surface.document);
  const fail = (res: ServerResponse, err: unknown) => {
    o.log.error({ err }, 'REST request failed');
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 'INTERNAL', message: 'internal error' }));
  };
  return {
    handle(req, res, path) {
      if (path === OPENAPI_PATH) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
        return true;
      }
      const output = EXEC_OUTPUT_ROUTE.exec(path);
      if (output?.[1] && req.method === 'GET') {
        const url = new URL(req.url ?? '/', 'http://gateway');
        serveExecOutput(o.output, req, res, output[1], url).catch((err: unknown) => fail(res, err));
        return true;
      }
      if (path.startsWith(`${REST_PREFIX}/`)) {
        surface.handle(req, res).catch((err: unknown) => fail(res, err));
        return true;
      }
      return false;
    },
  };
}
