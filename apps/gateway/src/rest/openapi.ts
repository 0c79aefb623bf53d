import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AnyRouter } from '@trpc/server';
import {
  createOpenApiNodeHttpHandler,
  generateOpenApiDocument,
  type OpenAPIObject,
} from 'trpc-to-openapi';
import type { Context } from '../context.ts';
import { deriveRestRouter, REST_PREFIX } from './derive.ts';

export const OPENAPI_PATH = '/openapi.json';

export interface RestSurface {
  readonly document: OpenAPIObject;
  readonly skipped: ReadonlyArray<{ readonly path: string; readonly reason: string }>;
  /** Serves `/v1/...` (404 JSON for unknown routes). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

const OUTPUT_STREAM_DOC = {
  get: {
    operationId: 'execs-output-stream',
    summary: 'Exec output as Server-Sent Events or raw bytes',
    description:
      'What the `execs.output` subscription gives over the websocket, for plain HTTP clients. ' +
      'SSE (default): `id` = seq, `event` = chunk | gap | end, `data` = the event JSON (chunk ' +
      'bytes base64); resume with `Last-Event-ID`. `format=raw`: chunk bytes only, outcome in ' +
      'the trailers `x-cordon-status` and `x-cordon-exit-code`. Read at the client’s pace.',
    tags: ['execs'],
    security: [{ Authorization: [] }],
    parameters: [
      { name: 'execId', in: 'path', required: true, schema: { type: 'string' } },
      { name: 'lastEventId', in: 'query', required: false, schema: { type: 'string' } },
      {
        name: 'format',
        in: 'query',
        required: false,
        schema: { type: 'string', enum: ['sse', 'raw'] },
      },
      {
        name: 'stream',
        in: 'query',
        required: false,
        schema: { type: 'string', enum: ['stdout', 'stderr'] },
      },
    ],
    responses: {
      '200': {
        description: 'The output, until the exec ends',
        content: {
          'text/event-stream': { schema: { type: 'string' } },
          'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
        },
      },
      '401': { description: 'Missing or unknown token' },
      '404': { description: 'No such exec for this tenant' },
    },
  },
};

/**
 * The REST surface generated from the tRPC router (trpc-to-openapi): an OpenAPI 3.1 document and
 * a handler for `/v1/...`. Same auth (Bearer token), same validation, same errors as tRPC.
 */
export function createRestSurface(
  appRouter: AnyRouter,
  createContext: (req: IncomingMessage) => Promise<Context>,
  version: string,
): RestSurface {
  const derived = deriveRestRouter(appRouter);
  const router = derived.router;
  const document = generateOpenApiDocument(router, {
    title: 'Cordon gateway',
    description:
      `REST form of the gateway's tRPC procedures: procedure \`a.b\` is \`GET|POST ${REST_PREFIX}/a/b\` ` +
      '(GET for queries whose inputs are all strings, POST with a JSON body otherwise). Send ' +
      '`Authorization: Bearer <token>`. Subscriptions are not REST; exec output is ' +
      `\`GET ${REST_PREFIX}/execs/{execId}/output\`. Not exposed: ` +
      (derived.skipped.map((s) => s.path).join(', ') || 'none') +
      '.',
    version,
    baseUrl: '/',
    paths: { [`${REST_PREFIX}/execs/{execId}/output`]: OUTPUT_STREAM_DOC } as never,
  });
  // The node-http handler (not the "standalone" one, which hands createContext a fetch Request).
  const handler = createOpenApiNodeHttpHandler({
    router,
    createContext: ({ req }: { req: IncomingMessage }) => createContext(req),
  });
  return {
    document,
    skipped: derived.skipped,
    handle: (req, res) => handler(req, res),
  };
}
