import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CLUSTER_WS_PATH, logRedisErrors, OUTPUT_BINARY_QUERY } from '@cordon/protocol';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { WebSocketServer } from 'ws';
import { createToken, TokenCache } from './auth/tokens.ts';
import { httpContext, wsContext, type Services } from './context.ts';
import { Janitor } from './dispatch/janitor.ts';
import { NodeQueues } from './dispatch/queues.ts';
import { logInternalErrors } from './format-error.ts';
import { resolveOptions, type GatewayOptions } from './options.ts';
import { CodebaseHttp } from './http/codebase-http.ts';
import { ClusterEndpoint } from './output/cluster-endpoint.ts';
import { DoneBus } from './output/done-bus.ts';
import { withLocalWake } from './output/observer.ts';
import { SharedOutputReader } from './output/shared-reader.ts';
import { binaryOutputEncoder, outputAwareEncoder } from './output/ws-encoder.ts';
import { GatewayMetrics } from './observability/metrics.ts';
import { createOpsRoutes } from './observability/ops-routes.ts';
import { createRestRoutes } from './rest/rest-routes.ts';
import { appRouter } from './router/index.ts';

/** tRPC (HTTP and websocket) is served under this path; `/cluster` is for node agents. */
export const TRPC_PATH = '/trpc';

export interface Gateway {
  /** `http://host:port/trpc` — for httpBatchLink. */
  readonly httpUrl: string;
  /** `ws://host:port/trpc` — for createWSClient. */
  readonly wsUrl: string;
  /** The reply address node agents dial. */
  readonly clusterUrl: string;
  readonly port: number;
  /** `http://host:port` — `/healthz`, `/readyz`, `/metrics`, `/openapi.json`, `/v1/...`. */
  readonly baseUrl: string;
  readonly janitor: Janitor;
  readonly metrics: GatewayMetrics;
  close(): Promise<void>;
}

const REQUEST_ID = /^[\w.-]{1,128}$/;

/** Starts a gateway: HTTP + websocket on one port, state in Redis, a janitor for dead nodes. */
export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const options = resolveOptions(opts);
  const log = opts.logger ?? pino({ name: 'cordon-gateway' });
  const redis = new Redis(options.redis);
  logRedisErrors(redis, log, 'state');
  const doneBus = await DoneBus.start(redis, log);
  const tokens = new TokenCache(redis, { ttlMs: options.tokenCacheTtlMs });
  doneBus.listen(
    (message) => tokens.onMessage(message),
    () => tokens.clear(),
  );
  const outputReader = await SharedOutputReader.start({ redis, log });
  const queues = new NodeQueues(redis);
  if (options.adminToken) {
    await createToken(redis, {
      tenantId: options.adminTenantId,
      scope: 'admin',
      name: 'admin (configured)',
      token: options.adminToken,
    });
  }

  let clusterUrl = '';
  const services: Services = {
    redis,
    queues,
    doneBus,
    tokens,
    outputReader,
    options,
    log,
    clusterUrl: () => clusterUrl,
  };

  const onError = logInternalErrors(log);
  const trpcHttp = createHTTPHandler({
    router: appRouter,
    basePath: `${TRPC_PATH}/`,
    createContext: ({ req }) => httpContext(services, req),
    onError,
  });
  const codebaseHttp = new CodebaseHttp(services);
  const streamingOutputs = new Set<ServerResponse>();
  // Late-bound: the socket servers below exist by the time anything scrapes.
  let bufferedBytes = () => ({ toRedis: 0, toClients: 0 });
  const metrics = new GatewayMetrics({ redis, queues, bufferedBytes: () => bufferedBytes() });
  const ops = createOpsRoutes({ redis, queues, metrics, log: log.child({ component: 'ops' }) });
  const rest = createRestRoutes({
    appRouter,
    createContext: (req) => httpContext(services, req),
    version: options.version,
    output: {
      redis,
      source: outputReader,
      highWaterBytes: options.wsHighWaterBytes,
      batchEntries: options.readBatchEntries,
      observer: metrics,
      log,
      active: streamingOutputs,
    },
    log,
  });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    // One id per request, echoed to the client and carried into jobs (and so into node logs).
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    req.headers['x-request-id'] = requestId;
    res.setHeader('x-request-id', requestId);
    const family = path.startsWith(`${TRPC_PATH}/`) ? 'trpc' : (path.split('/')[1] ?? '');
    res.once('finish', () => metrics.httpRequest(family, res.statusCode));
    if (codebaseHttp.handle(req, res)) return;
    if (ops.handle(req, res, path) || rest.handle(req, res, path)) return;
    if (path.startsWith(`${TRPC_PATH}/`)) {
      trpcHttp(req, res);
    } else {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end(`not found; tRPC is at ${TRPC_PATH}\n`);
    }
  });

  // Two tRPC websocket servers on the same path, differing only in how output chunks are framed:
  // JSON text (base64 data) by default, binary output frames for clients that connect with
  // `?output=binary` (@cordon/client). tRPC's encoder is per handler, so the choice is made at
  // the upgrade. permessage-deflate stays off (ws's default for servers): compressing output
  // would cost more CPU than the whole path and hold zlib buffers per connection.
  const wsOptions = { noServer: true, maxPayload: 4 * 1024 * 1024, perMessageDeflate: false };
  const clientWss = new WebSocketServer(wsOptions);
  const binaryWss = new WebSocketServer(wsOptions);
  const wsHandlers = [
    { wss: clientWss, encoder: outputAwareEncoder },
    { wss: binaryWss, encoder: binaryOutputEncoder },
  ].map(({ wss, encoder }) =>
    applyWSSHandler({
      wss,
      router: appRouter,
      createContext: ({ req, res, info }) => wsContext(services, req, res, info.connectionParams),
      keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 5_000 },
      experimental_encoder: encoder,
      onError,
    }),
  );
  const cluster = new ClusterEndpoint({
    redis,
    clusterToken: options.clusterToken,
    streamMaxEntries: options.streamMaxEntries,
    execTtlMs: options.execTtlMs,
    log: log.child({ component: 'cluster' }),
    // An exec settled here wakes this gateway's execs.wait callers at once (no pub/sub hop).
    observer: withLocalWake(metrics, (key, hash) => doneBus.notify(key, hash)),
    outputReader,
  });
  bufferedBytes = () => {
    let toClients = 0;
    for (const ws of clientWss.clients) toClients += ws.bufferedAmount;
    for (const ws of binaryWss.clients) toClients += ws.bufferedAmount;
    for (const res of streamingOutputs) toClients += res.writableLength;
    return { toRedis: cluster.inflightBytes, toClients };
  };
  server.on('upgrade', (req, socket, head) => {
    const [path, query = ''] = (req.url ?? '/').split('?');
    if (path === CLUSTER_WS_PATH) cluster.handleUpgrade(req, socket, head);
    else if (path === TRPC_PATH) {
      const wss = query.split('&').includes(OUTPUT_BINARY_QUERY) ? binaryWss : clientWss;
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    } else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const hostPart = options.host.includes(':') ? `[${options.host}]` : options.host;
  clusterUrl = options.publicClusterUrl ?? `ws://${hostPart}:${port}${CLUSTER_WS_PATH}`;

  const janitor = new Janitor({
    redis,
    queues,
    intervalMs: options.janitorIntervalMs,
    execTtlMs: options.execTtlMs,
    log: log.child({ component: 'janitor' }),
  });
  janitor.start();
  log.info({ port, clusterUrl }, 'gateway listening');
  if (options.publicClusterUrl === undefined && ['0.0.0.0', '::', ''].includes(options.host)) {
    log.warn(
      { clusterUrl },
      'node agents on other hosts cannot dial a wildcard address: set CORDON_PUBLIC_CLUSTER_URL (publicClusterUrl) to this host’s address',
    );
  }

  return {
    httpUrl: `http://${hostPart}:${port}${TRPC_PATH}`,
    wsUrl: `ws://${hostPart}:${port}${TRPC_PATH}`,
    clusterUrl,
    port,
    baseUrl: `http://${hostPart}:${port}`,
    janitor,
    metrics,
    async close() {
      await janitor.stop();
      for (const h of wsHandlers) h.broadcastReconnectNotification();
      for (const ws of [...clientWss.clients, ...binaryWss.clients]) ws.terminate();
      for (const res of streamingOutputs) res.destroy();
      clientWss.close();
      binaryWss.close();
      cluster.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await queues.close();
      await doneBus.close();
      outputReader.close();
      redis.disconnect();
    },
  };
}
