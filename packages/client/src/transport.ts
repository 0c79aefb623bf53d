import type { AppRouter } from '@cordon/gateway';
import { OUTPUT_BINARY_QUERY, decodeOutputFrame } from '@cordon/protocol';
import {
  createTRPCClient,
  createWSClient,
  getUntypedClient,
  httpLink,
  splitLink,
  wsLink,
  type Encoder,
  type TRPCClient,
  type TRPCUntypedClient,
} from '@trpc/client';
import WebSocket from 'ws';
import { backoffMs } from './backoff.ts';
import { createReachability, type Reachability } from './reachability.ts';

export interface TransportOptions {
  /** The gateway: `http://host:7420` (with or without the `/trpc` suffix), or `https://…`. */
  readonly url: string;
  /** An API token (`cdn_…`); sent as a bearer header over HTTP and in the websocket's connection params. */
  readonly token: string;
  /** Delay before the websocket reconnects after it broke. Default: 100 ms doubling to 2 s. */
  readonly reconnectDelayMs?: (attempt: number) => number;
  /** Keep an idle websocket open this long before closing it. Default 5 000 ms. */
  readonly wsIdleCloseMs?: number;
  /**
   * How long the gateway may be unreachable (no answer over HTTP, no open websocket) before the
   * streams and waits pending on it reject with UnavailableError. Shorter outages, such as a
   * gateway restart, stay invisible. Default 30 000 ms.
   */
  readonly unavailableAfterMs?: number;
}

export interface Endpoints {
  /** Base URL of the gateway without a path, e.g. `http://127.0.0.1:7420`. */
  readonly origin: string;
  /** tRPC over HTTP. */
  readonly httpUrl: string;
  /** tRPC over websocket. */
  readonly wsUrl: string;
}

/** Normalises what a user gives (`host:port`, `http://host:port`, `…/trpc`) into the endpoints. */
export function endpointsOf(url: string): Endpoints {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new TypeError(`url ${JSON.stringify(url)} is not a URL; give e.g. http://127.0.0.1:7420`);
  }
  if (u.protocol === 'ws:') u.protocol = 'http:';
  if (u.protocol === 'wss:') u.protocol = 'https:';
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new TypeError(`url ${url}: the scheme must be http or https`);
  }
  const origin = u.origin;
  const ws = origin.replace(/^http/, 'ws');
  return { origin, httpUrl: `${origin}/trpc`, wsUrl: `${ws}/trpc` };
}

export interface Transport {
  readonly endpoints: Endpoints;
  /** Typed client: HTTP for queries and mutations, the websocket for subscriptions. */
  readonly trpc: TRPCClient<AppRouter>;
  /** For procedures this client's AppRouter type does not know yet (newer gateways). */
  readonly untyped: TRPCUntypedClient<AppRouter>;
  readonly token: string;
  /** True once close() was called: streams must not resubscribe (that would reopen the socket). */
  readonly closed: boolean;
  /** Whether the gateway answers; streams and waits watch it to give up on a gateway gone. */
  readonly reachability: Reachability;
  close(): Promise<void>;
}

/**
 * What this client speaks on the websocket (opened with `?output=binary`): JSON text frames both
 * ways, plus binary output frames from the gateway carrying `execs.output` chunks as raw bytes
 * (their event's `data` is then a Buffer, not base64 — see output-stream.ts). A gateway that
 * does not know the query answers in JSON only, which this decodes as well.
 */
const outputFrameEncoder: Encoder = {
  encode: (msg) => JSON.stringify(msg),
  decode: (data): unknown =>
    typeof data === 'string' ? (JSON.parse(data) as unknown) : decodeOutputFrame(data),
};

/**
 * fetch, telling `r` whether the gateway answered: any tRPC (JSON) response counts, errors
 * included; no response, or one that is not the gateway's (a proxy's HTML 502), does not.
 */
async function observedFetch(
  r: Reachability,
  url: string | URL,
  init?: RequestInit,
): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    if (!init?.signal?.aborted) r.failed(err);
    throw err;
  }
  if (res.headers.get('content-type')?.includes('json')) r.answered();
  else r.failed(new Error(`HTTP ${res.status} ${res.statusText} without a tRPC answer`));
  return res;
}

/**
 * One websocket per client, opened lazily on the first subscription and closed when idle, so a
 * short-lived process (a CLI call) that never subscribes never opens one. On a broken socket the
 * ws client reconnects and re-subscribes with the last tracked event id (the exec's seq).
 */
export function createTransport(o: TransportOptions): Transport {
  const endpoints = endpointsOf(o.url);
  const unavailableAfterMs = o.unavailableAfterMs ?? 30_000;
  if (!Number.isFinite(unavailableAfterMs) || unavailableAfterMs <= 0) {
    throw new TypeError(
      `unavailableAfterMs must be a positive number of milliseconds, got ${unavailableAfterMs}`,
    );
  }
  const ws = createWSClient({
    url: `${endpoints.wsUrl}?${OUTPUT_BINARY_QUERY}`,
    experimental_encoder: outputFrameEncoder,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    connectionParams: { token: o.token },
    retryDelayMs: o.reconnectDelayMs ?? ((attempt) => backoffMs(attempt)),
    lazy: { enabled: true, closeMs: o.wsIdleCloseMs ?? 5_000 },
  });
  const reachability = createReachability({
    origin: endpoints.origin,
    unavailableAfterMs,
    socketOpen: () => ws.connection?.state === 'open',
    // The ws client would retry forever: stop it. The next subscription opens it again.
    onUnavailable: () => void ws.close().catch(() => undefined),
  });
  // `pending` is tRPC's name for an open socket; `connecting` with an error, a lost one or a
  // failed attempt to open one (once per attempt).
  const states = ws.connectionState.subscribe({
    next: (s) => {
      if (s.state === 'pending') reachability.answered();
      else if (s.state === 'connecting' && s.error) reachability.failed(s.error);
    },
  });
  const trpc = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink({ client: ws }),
        // Not batched: a long execs.wait must not hold back the calls batched with it.
        false: httpLink({
          url: endpoints.httpUrl,
          headers: { authorization: `Bearer ${o.token}` },
          fetch: (url: string | URL, init?: RequestInit) => observedFetch(reachability, url, init),
        }),
      }),
    ],
  });
  let closed = false;
  return {
    endpoints,
    trpc,
    untyped: getUntypedClient(trpc),
    token: o.token,
    reachability,
    get closed() {
      return closed;
    },
    async close() {
      closed = true;
      reachability.close();
      states.unsubscribe();
      // Bounded: a half-open socket must not hold the caller's shutdown.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        ws.close(),
        new Promise<void>((r) => {
          timer = setTimeout(r, 2_000);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
    },
  };
}
