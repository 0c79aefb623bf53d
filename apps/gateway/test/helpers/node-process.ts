import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER_MAIN = fileURLToPath(
  new URL('../../../node-agent/src/worker/main.ts', import.meta.url),
);

export interface NodeProcess {
  readonly pid: number;
  readonly nodeId: string;
  /** What the agent reported at start (its start-up recovery). */
  readonly ready: { recovery?: Record<string, number> };
  /** SIGKILL: the node vanishes without deregistering, as on a crash. */
  kill(): Promise<void>;
  /** SIGTERM: graceful shutdown. */
  stop(): Promise<void>;
}

export interface NodeEnv {
  nodeId: string;
  redisPath: string;
  clusterToken: string;
  /** Its parents must be searchable by others (sandbox uids reach the mounts through it). */
  dataDir: string;
  capacity?: number;
  heartbeatMs?: number;
  heartbeatTtlMs?: number;
  allowPaths?: readonly string[];
  /** Agents sharing this host need disjoint sandbox uid ranges. */
  uidBase?: number;
}

/** Runs a node agent (real bwrap + FUSE executor) as its own process, as production does. */
export async function startNodeProcess(env: NodeEnv): Promise<NodeProcess> {
  const child: ChildProcess = fork(WORKER_MAIN, [], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      CORDON_NODE_ID: env.nodeId,
      CORDON_REDIS_PATH: env.redisPath,
      CORDON_CLUSTER_TOKEN: env.clusterToken,
      CORDON_DATA_DIR: env.dataDir,
      CORDON_CAPACITY: String(env.capacity ?? 2),
      CORDON_HEARTBEAT_MS: String(env.heartbeatMs ?? 200),
      CORDON_HEARTBEAT_TTL_MS: String(env.heartbeatTtlMs ?? 1_000),
      CORDON_ALLOW_PATHS: (env.allowPaths ?? []).join(':'),
      CORDON_UID_BASE: String(env.uidBase ?? 2_100_000),
      CORDON_UID_COUNT: '1000',
      CORDON_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('node agent did not start');
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const ready = await new Promise<NodeProcess['ready']>((resolve, reject) => {
    child.once('message', (m) => resolve(m as NodeProcess['ready']));
    child.once('exit', (code) => reject(new Error(`node agent exited early (${code})`)));
  });
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, sig);
    await exited;
  };
  return {
    pid,
    nodeId: env.nodeId,
    ready,
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM'),
  };
}
