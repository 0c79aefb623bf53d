import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { bearerToken, type Principal, type TokenCache } from './auth/tokens.ts';
import type { NodeQueues } from './dispatch/queues.ts';
import type { ResolvedOptions } from './options.ts';
import type { DoneBus } from './output/done-bus.ts';
import type { SharedOutputReader } from './output/shared-reader.ts';

/** Everything a procedure may touch; one instance per gateway, passed explicitly. */
export interface Services {
  readonly redis: Redis;
  readonly queues: NodeQueues;
  readonly doneBus: DoneBus;
  /** Token → principal, cached briefly (auth/tokens.ts explains how revocations reach it). */
  readonly tokens: TokenCache;
  /** Reads exec output streams for every subscriber (two Redis connections in all). */
  readonly outputReader: SharedOutputReader;
  readonly options: ResolvedOptions;
  readonly log: Logger;
  /** Reply address put into exec jobs; known once the server listens. */
  clusterUrl(): string;
}

export interface Context {
  readonly services: Services;
  readonly principal: Principal | null;
  /** The client's websocket, for subscriptions' backpressure; null over HTTP. */
  readonly socket: WebSocket | null;
  readonly requestId: string;
  readonly log: Logger;
}

function requestIdOf(req: IncomingMessage): string {
  const h = req.headers['x-request-id'];
  return typeof h === 'string' && /^[\w.-]{1,128}$/.test(h) ? h : randomUUID();
}

export async function httpContext(services: Services, req: IncomingMessage): Promise<Context> {
  const token = bearerToken(req.headers.authorization);
  const principal = token ? await services.tokens.lookup(token) : null;
  const requestId = requestIdOf(req);
  return { services, principal, socket: null, requestId, log: services.log.child({ requestId }) };
}

/** Websocket clients authenticate once, with `connectionParams: { token }`. */
export async function wsContext(
  services: Services,
  req: IncomingMessage,
  socket: WebSocket,
  connectionParams: Readonly<Record<string, string | undefined>> | null,
): Promise<Context> {
  const token = connectionParams?.token ?? bearerToken(req.headers.authorization);
  const principal = token ? await services.tokens.lookup(token) : null;
  const requestId = requestIdOf(req);
  return { services, principal, socket, requestId, log: services.log.child({ requestId }) };
}
