import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER_MAIN = fileURLToPath(
  new URL('../../../node-agent/src/worker/main.ts', import.meta.url),
);

export interface NodeProcess {
  readonly pid: number;
  readonly nodeId: string;
  /** SIGKILL: the node vanishes without deregistering, as on a crash. */
  kill(): Promise<void>;
  /** SIGTERM: graceful shutdown. */
  stop(): Promise<void>;
}

/** Runs a node worker (interim executor) as its own process, as production does. */
export async function startNodeProcess(env: {
  nodeId: string;
  redisPath: string;
  clusterToken: string;
  dataDir: string;
  capacity?: number;
  heartbeatMs?: number;
  heartbeatTtlMs?: number;
}): Promise<NodeProcess> {
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
      CORDON_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('node worker did not start');
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`node worker exited early (${code})`)));
  });
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, sig);
    await exited;
  };
  return { pid, nodeId: env.nodeId, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}
