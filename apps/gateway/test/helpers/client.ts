import {
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  splitLink,
  wsLink,
  type TRPCClient,
} from '@trpc/client';
import type { AppRouter } from '@cordon/gateway';
import type { Gateway } from '@cordon/gateway';

export interface TestClient {
  readonly trpc: TRPCClient<AppRouter>;
  close(): Promise<void>;
}

/** HTTP for queries and mutations, websocket for subscriptions — as the SDK will do. */
export function connect(gw: Gateway, token: string | null): TestClient {
  const ws = createWSClient({
    url: gw.wsUrl,
    connectionParams: token ? { token } : {},
    retryDelayMs: () => 100,
  });
  const trpc = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink({ client: ws }),
        false: httpBatchLink({
          url: gw.httpUrl,
          headers: token ? { authorization: `Bearer ${token}` } : {},
        }),
      }),
    ],
  });
  return {
    trpc,
    async close() {
      await ws.close();
    },
  };
}
