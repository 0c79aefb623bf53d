import type { RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

export interface GatewayOptions {
  /** ioredis connection options, e.g. `{ path: '/tmp/r.sock' }` or `{ host, port }`. */
  readonly redis: RedisOptions;
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /** Port; 0 picks a free one. Default 0. */
  readonly port?: number;
  /**
   * URL node agents dial for output (the job's reply address). Default `ws://<host>:<port>/cluster`
   * from the bound address; set it when nodes reach this gateway through another name.
   */
  readonly publicClusterUrl?: string;
  /** Shared secret node agents present on the cluster websocket. Required. */
  readonly clusterToken: string;
  /** If set, stored (hashed) as an admin token of `adminTenantId` at start. */
  readonly adminToken?: string;
  /** Tenant of `adminToken`. Default `default`. */
  readonly adminTenantId?: string;
  /** Execs queued or running per node beyond its capacity before RESOURCE_EXHAUSTED. Default 64. */
  readonly maxQueuedPerNode?: number;
  /** How long `sandboxes.create` waits for the node. Default 30 000 ms. */
  readonly createTimeoutMs?: number;
  /** Janitor period (dead-node detection). Default 1 000 ms. */
  readonly janitorIntervalMs?: number;
  /**
   * Output stream entries kept per exec (XADD MAXLEN ~). Default 4 096. Chunks are ≤ 256 KiB, but
   * the per-exec output cap (default 64 MiB) bounds what an exec can store first.
   */
  readonly streamMaxEntries?: number;
  /** TTL of exec records and output streams after they end. Default 24 h. */
  readonly execTtlMs?: number;
  /** A subscriber's socket may buffer this much before the stream reader pauses. Default 1 MiB. */
  readonly wsHighWaterBytes?: number;
  /** Entries per XREAD of a subscriber. Default 16 (≤ 1 MiB of 64 KiB chunks in memory). */
  readonly readBatchEntries?: number;
  /**
   * How long a known API token is trusted without asking Redis. Revocations reach every gateway
   * at once over pub/sub; this bounds a revocation whose message was lost. 0 disables the cache.
   * Default 2 000 ms.
   */
  readonly tokenCacheTtlMs?: number;
  readonly logger?: Logger;
  /** Reported by `health`. Default the package version. */
  readonly version?: string;
}

export type ResolvedOptions = Required<
  Omit<GatewayOptions, 'adminToken' | 'publicClusterUrl' | 'logger'>
> &
  Pick<GatewayOptions, 'adminToken' | 'publicClusterUrl'>;

export function resolveOptions(o: GatewayOptions): ResolvedOptions {
  if (!o.clusterToken || o.clusterToken.length < 16) {
    throw new Error(
      'clusterToken must be at least 16 characters; generate one with `openssl rand -hex 32`',
    );
  }
  return {
    redis: o.redis,
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 0,
    publicClusterUrl: o.publicClusterUrl,
    clusterToken: o.clusterToken,
    adminToken: o.adminToken,
    adminTenantId: o.adminTenantId ?? 'default',
    maxQueuedPerNode: o.maxQueuedPerNode ?? 64,
    createTimeoutMs: o.createTimeoutMs ?? 30_000,
    janitorIntervalMs: o.janitorIntervalMs ?? 1_000,
    streamMaxEntries: o.streamMaxEntries ?? 4_096,
    execTtlMs: o.execTtlMs ?? 24 * 60 * 60 * 1000,
    wsHighWaterBytes: o.wsHighWaterBytes ?? 1024 * 1024,
    readBatchEntries: o.readBatchEntries ?? 16,
    tokenCacheTtlMs: o.tokenCacheTtlMs ?? 2_000,
    version: o.version ?? '0.1.0',
  };
}
