import { TRPCError, type AnyProcedure, type AnyRouter } from '@trpc/server';
import {
  generateOpenApiDocument,
  type OpenApiMeta,
  type OpenApiMethod,
  type OpenApiRouter,
} from 'trpc-to-openapi';
import { z } from 'zod';
import { router } from '../trpc.ts';

/** REST routes live under this prefix: procedure `a.b` is `GET|POST /v1/a/b`. */
export const REST_PREFIX = '/v1';

export interface DerivedRest {
  /** A router with the same procedures, each carrying `meta.openapi`; subscriptions left out. */
  readonly router: OpenApiRouter & AnyRouter;
  /** Procedures not exposed over REST, with the reason (subscriptions, inputs REST cannot carry). */
  readonly skipped: ReadonlyArray<{ readonly path: string; readonly reason: string }>;
}

type Openapi = NonNullable<OpenApiMeta['openapi']>;

interface ProcDef {
  readonly type: 'query' | 'mutation' | 'subscription';
  readonly meta?: OpenApiMeta;
  readonly inputs: readonly unknown[];
  readonly output?: unknown;
}

type AnyZod = z.ZodType & { _zod: { def: Record<string, unknown> & { type: string } } };

function isZod(v: unknown): v is AnyZod {
  return v instanceof z.ZodType;
}

/** Unwraps optional / nullable / default wrappers. */
function core(s: AnyZod): AnyZod {
  const inner = s._zod.def.innerType;
  return ['optional', 'nullable', 'default'].includes(s._zod.def.type) && isZod(inner)
    ? core(inner)
    : s;
}

/**
 * Query parameters arrive as strings and the original procedure validates them strictly (no
 * coercion), so GET is only for inputs whose fields are all string-like.
 */
function stringParamsOnly(inputs: readonly unknown[]): boolean {
  if (inputs.length === 0) return true;
  if (inputs.length > 1 || !isZod(inputs[0])) return false;
  const obj = core(inputs[0]);
  if (obj._zod.def.type !== 'object') return false;
  const shape = obj._zod.def.shape as Record<string, unknown>;
  return Object.values(shape).every((f) => {
    if (!isZod(f)) return false;
    const t = core(f)._zod.def.type;
    return t === 'string' || t === 'enum';
  });
}

/**
 * A deep copy of a schema. trpc-to-openapi's handler flips `coerce` on the number and boolean
 * schemas it is given; the copies absorb that, so the shared protocol schemas stay strict for
 * every other caller (a coerced boolean would read "false" as true).
 */
function deepClone(s: AnyZod): AnyZod {
  const def: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s._zod.def)) def[k] = cloneValue(v);
  return s.clone(def as never);
}

function cloneValue(v: unknown): unknown {
  if (isZod(v)) return deepClone(v);
  if (Array.isArray(v)) return v.map(cloneValue);
  if (v && typeof v === 'object' && Object.values(v).some(isZod)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cloneValue(x)]));
  }
  return v;
}

/**
 * Gives every procedure of `appRouter` a REST route without touching the router files: queries
 * become GET (input as query parameters) when their input is a flat object of strings, numbers
 * and booleans, else POST with a JSON body; mutations are POST. A procedure that sets its own
 * `meta.openapi` keeps it. Copies forward to the original procedure, so validation, middleware
 * (auth) and error formatting are exactly tRPC's.
 */
export function deriveRestRouter(appRouter: AnyRouter): DerivedRest {
  const procedures = appRouter._def.procedures as Record<string, AnyProcedure>;
  const tree: Record<string, unknown> = {};
  const skipped: { path: string; reason: string }[] = [];
  for (const [path, proc] of Object.entries(procedures)) {
    const def = proc._def as unknown as ProcDef;
    if (def.type === 'subscription') {
      skipped.push({ path, reason: 'subscription (use the websocket, or the HTTP output stream)' });
      continue;
    }
    const own = def.meta?.openapi;
    const candidates: OpenApiMethod[] = own
      ? [own.method]
      : def.type === 'query' && stringParamsOnly(def.inputs)
        ? ['GET', 'POST']
        : ['POST'];
    let chosen: AnyProcedure | null = null;
    let lastError = '';
    for (const method of candidates) {
      const openapi: Openapi = own ?? {
        method,
        path: `${REST_PREFIX}/${path.split('.').join('/')}` as `/${string}`,
        tags: [path.split('.')[0] ?? path],
        summary: `${def.type} ${path}`,
        protect: true,
      };
      const copy = copyWithMeta(proc, { ...(def.meta ?? {}), openapi });
      try {
        // Generating a one-route document validates what REST can carry for this procedure.
        generateOpenApiDocument(toOpenApiRouter(nest({}, path, copy)), {
          title: 'probe',
          version: '0',
          baseUrl: 'http://localhost',
        });
        chosen = copy;
        break;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      }
    }
    if (chosen) nest(tree, path, chosen);
    else skipped.push({ path, reason: lastError });
  }
  return { router: toOpenApiRouter(tree), skipped };
}

/** Our procedures declare no meta type; trpc-to-openapi wants `Record<string, unknown>`. */
function toOpenApiRouter(tree: Record<string, unknown>): OpenApiRouter & AnyRouter {
  return router(tree as Parameters<typeof router>[0]) as unknown as OpenApiRouter & AnyRouter;
}

function copyWithMeta(proc: AnyProcedure, meta: Record<string, unknown>): AnyProcedure {
  const def = proc._def as unknown as ProcDef & Record<string, unknown>;
  // The generator needs an output schema; procedures without one are documented as "any JSON".
  const output = def.output ?? z.unknown();
  const inputs = def.inputs.map(cloneValue);
  const call = proc as unknown as (o: unknown) => Promise<unknown>;
  const copy = (async (opts: unknown) => {
    try {
      return await call(opts);
    } catch (err) {
      // trpc-to-openapi recognises tRPC errors by `name === 'TRPCError'` and turns anything else
      // (our GatewayError subclass included) into a 500; the instance stays a GatewayError.
      if (err instanceof TRPCError && err.name !== 'TRPCError') {
        Object.defineProperty(err, 'name', { value: 'TRPCError' });
      }
      throw err;
    }
  }) as unknown;
  Object.assign(copy as object, proc, { _def: { ...def, meta, inputs, output } });
  return copy as AnyProcedure;
}

function nest(
  tree: Record<string, unknown>,
  path: string,
  value: unknown,
): Record<string, unknown> {
  const keys = path.split('.');
  let node = tree;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) node[k] = value;
    else node = (node[k] ??= {}) as Record<string, unknown>;
  });
  return tree;
}
