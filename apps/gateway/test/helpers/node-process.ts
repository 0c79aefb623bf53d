import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const WORKER_MAIN = fileURLToPath(
  new URL('../../../node-agent/src/worker/main.ts', import.meta.url),
);

export interface NodeProcess {
  readonly pid: number;
  readonly nodeId: string;
  /** What the agent reported at start (its start-up recovery). */
  readonly ready: { recovery?: Record<string, number> };
  /**
   * SIGKILL: the node vanishes without deregistering, as on a crash. Resolves once its orphaned
   * children (fs hosts unmounting on disconnect, runner wrappers) are gone too, so the caller may
   * remove the data dir.
   */
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
    const tree = processTree(pid);
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, sig);
    await exited;
    await waitGone(tree);
  };
  return {
    pid,
    nodeId: env.nodeId,
    ready,
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM'),
  };
}

/** A process by PID and start time (a reused PID is another process). */
type Proc = readonly [pid: number, startTicks: string];

function startTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? null : (fields[19] ?? null);
  } catch {
    return null;
  }
}

/** `root`'s descendants, from the kernel's per-thread children lists. */
function processTree(root: number): Proc[] {
  const out: Proc[] = [];
  const frontier = [root];
  for (let pid = frontier.pop(); pid !== undefined; pid = frontier.pop()) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      let children = '';
      try {
        children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of children.split(' ').filter(Boolean).map(Number)) {
        const ticks = startTicks(c);
        if (ticks !== null) out.push([c, ticks]);
        frontier.push(c);
      }
    }
  }
  return out;
}

async function waitGone(tree: readonly Proc[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let left = tree;
  while ((left = left.filter(([pid, t]) => startTicks(pid) === t)).length > 0) {
    if (Date.now() > deadline) {
      const what = left.map(([p]) => {
        try {
          return `${p} ${readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').slice(0, 160)}`;
        } catch {
          return String(p);
        }
      });
      throw new Error(`processes of a killed node agent still run:\n${what.join('\n')}`);
    }
    await sleep(20);
  }
}
