import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CLUSTER_WS_PATH } from '@cordon/protocol';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { WebSocketServer } from 'ws';
import { createToken } from './auth/tokens.ts';
import { httpContext, wsContext, type Services } from './context.ts';
import { Janitor } from './dispatch/janitor.ts';
import { NodeQueues } from './dispatch/queues.ts';
import { resolveOptions, type GatewayOptions } from './options.ts';
import { ClusterEndpoint } from './output/cluster-endpoint.ts';
import { DoneBus } from './output/done-bus.ts';
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
  readonly janitor: Janitor;
  close(): Promise<void>;
}

/** Starts a gateway: HTTP + websocket on one port, state in Redis, a janitor for dead nodes. */
export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const options = resolveOptions(opts);
  const log = opts.logger ?? pino({ name: 'cordon-gateway' });
  const redis = new Redis(options.redis);
  const doneBus = await DoneBus.start(redis);
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
    options,
    log,
    clusterUrl: () => clusterUrl,
  };

  const trpcHttp = createHTTPHandler({
    router: appRouter,
    basePath: `${TRPC_PATH}/`,
    createContext: ({ req }) => httpContext(services, req),
  });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path.startsWith(`${TRPC_PATH}/`)) {
      trpcHttp(req, res);
    } else {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end(`not found; tRPC is at ${TRPC_PATH}\n`);
    }
  });

  const clientWss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });
  const wsHandler = applyWSSHandler({
    wss: clientWss,
    router: appRouter,
    createContext: ({ req, res, info }) => wsContext(services, req, res, info.connectionParams),
    keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 5_000 },
  });
  const cluster = new ClusterEndpoint({
    redis,
    clusterToken: options.clusterToken,
    streamMaxEntries: options.streamMaxEntries,
    execTtlMs: options.execTtlMs,
    log: log.child({ component: 'cluster' }),
  });
  server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === CLUSTER_WS_PATH) cluster.handleUpgrade(req, socket, head);
    else if (path === TRPC_PATH) {
      clientWss.handleUpgrade(req, socket, head, (ws) => clientWss.emit('connection', ws, req));
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

  return {
    httpUrl: `http://${hostPart}:${port}${TRPC_PATH}`,
    wsUrl: `ws://${hostPart}:${port}${TRPC_PATH}`,
    clusterUrl,
    port,
    janitor,
    async close() {
      await janitor.stop();
      wsHandler.broadcastReconnectNotification();
      for (const ws of clientWss.clients) ws.terminate();
      clientWss.close();
      cluster.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await queues.close();
      await doneBus.close();
      redis.disconnect();
    },
  };
}
