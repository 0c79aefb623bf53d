import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SANDBOX_UID_BASE, SANDBOX_UID_COUNT } from '@cordon/node-agent/uids';
import { clusterFile, gatewayMain, nodeAgentMain } from './paths.ts';
import { spawnChild, type Child } from './processes.ts';
import { startRedis } from './redis.ts';

export interface LocalStackOptions {
  readonly dataDir: string;
  /** Gateway port; 0 = a free one. */
  readonly port: number;
  /** Node agents to start. */
  readonly nodes: number;
  /** Use this Redis instead of starting one (`redis://host:port`). */
  readonly redisUrl?: string;
  /** Host directories the node agents accept as codebases in place. Default ['/']. */
  readonly allowPaths?: readonly string[];
  /** Progress lines ("redis-server up", …). */
  readonly onStep?: (line: string) => void;
  /** Write DIR/cluster.json (`cordon up`); ephemeral stacks do not. Default true. */
  readonly writeClusterFile?: boolean;
  readonly logLevel?: string;
}

export interface ClusterInfo {
  readonly url: string;
  readonly token: string;
  /** PID of the `cordon up` process that owns the stack. */
  readonly pid: number;
  readonly startedAtMs: number;
}

export interface LocalStack {
  readonly url: string;
  /** An admin token of the default tenant. */
  readonly token: string;
  readonly children: readonly Child[];
  /** Stops node agents, then the gateway, then Redis (by PID), and removes cluster.json. */
  stop(): Promise<void>;
  /** Stops the gateway and starts a new one on the same port (state is in Redis; for tests). */
  restartGateway(): Promise<void>;
}

const secret = (prefix: string) => prefix + randomBytes(32).toString('base64url');

/**
 * The all-in-one stack as child processes: redis-server on a unix socket in the data dir (unless
 * `redisUrl`), a gateway and N node agents, each logging to DIR/logs/*.log.
 */
export async function startLocalStack(o: LocalStackOptions): Promise<LocalStack> {
  const dataDir = path.resolve(o.dataDir);
  const logDir = path.join(dataDir, 'logs');
  await mkdir(logDir, { recursive: true, mode: 0o700 });
  await chmod(logDir, 0o700);
  // Searchable (not listable) by others: sandboxes run as unprivileged uids and must reach their
  // mounts under nodes/; secrets (cluster.json, logs, the Redis socket) are 0600/0700 themselves.
  await chmod(dataDir, 0o711);
  const step = o.onStep ?? (() => undefined);
  const children: Child[] = [];
  const stopAll = async () => {
    // Nodes first (they finish or fail their execs), then the gateway, then Redis.
    for (const c of [...children].reverse()) {
      await c.stop();
      if (c.forced) step(`${c.name} (pid ${c.pid}) did not stop in time; killed`);
    }
  };
  try {
    let redisEnv: Record<string, string>;
    if (o.redisUrl) {
      redisEnv = { CORDON_REDIS_URL: o.redisUrl };
    } else {
      const redis = await startRedis(dataDir, logDir);
      children.push(redis.child);
      redisEnv = { CORDON_REDIS_PATH: redis.socket };
      step(`redis-server  pid ${redis.child.pid}  ${redis.socket}`);
    }
    const clusterToken = secret('');
    const adminToken = secret('cdn_');
    const base = {
      PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
      ...redisEnv,
      CORDON_CLUSTER_TOKEN: clusterToken,
      CORDON_LOG_LEVEL: o.logLevel ?? 'info',
    };
    const startGateway = (port: number) =>
      spawnChild({
        name: 'gateway',
        argv: [process.execPath, gatewayMain()],
        env: {
          ...base,
          CORDON_ADMIN_TOKEN: adminToken,
          CORDON_PORT: String(port),
          CORDON_HOST: '127.0.0.1',
        },
        logFile: path.join(logDir, 'gateway.log'),
        ipc: true,
      });
    const gw = await startGateway(o.port);
    children.push(gw.child);
    const port = (gw.ready as { port?: number }).port;
    if (typeof port !== 'number') throw new Error('the gateway did not report its port');
    const url = `http://127.0.0.1:${port}`;
    step(`gateway       pid ${gw.child.pid}  ${url}`);
    for (let i = 1; i <= o.nodes; i++) {
      const nodeId = `local-${i}`;
      const nodeDir = path.join(dataDir, 'nodes', nodeId);
      await mkdir(nodeDir, { recursive: true, mode: 0o711 });
      await chmod(path.dirname(nodeDir), 0o711);
      await chmod(nodeDir, 0o711);
      const node = await spawnChild({
        name: `node agent ${nodeId}`,
        argv: [process.execPath, nodeAgentMain()],
        env: {
          ...base,
          CORDON_NODE_ID: nodeId,
          CORDON_DATA_DIR: nodeDir,
          CORDON_ALLOW_PATHS: (o.allowPaths ?? ['/']).join(':'),
          // Each agent its own range: sandboxes of two agents must never share a uid.
          CORDON_UID_BASE: String(SANDBOX_UID_BASE + (i - 1) * SANDBOX_UID_COUNT),
          CORDON_UID_COUNT: String(SANDBOX_UID_COUNT),
        },
        logFile: path.join(logDir, `${nodeId}.log`),
        ipc: true,
        readyTimeoutMs: 60_000,
      });
      children.push(node.child);
      step(`node agent    pid ${node.child.pid}  ${nodeId}`);
    }
    const file = clusterFile(dataDir);
    if (o.writeClusterFile ?? true) {
      const info: ClusterInfo = {
        url,
        token: adminToken,
        pid: process.pid,
        startedAtMs: Date.now(),
      };
      await writeFile(file, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
    }
    let stopped: Promise<void> | null = null;
    return {
      url,
      token: adminToken,
      children,
      async restartGateway() {
        const i = children.findIndex((c) => c.name === 'gateway');
        const old = children[i];
        if (!old) throw new Error('no gateway to restart');
        await old.stop();
        children[i] = (await startGateway(port)).child;
      },
      stop() {
        stopped ??= (async () => {
          if (o.writeClusterFile ?? true) await rm(file, { force: true });
          await stopAll();
        })();
        return stopped;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
