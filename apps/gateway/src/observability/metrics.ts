import type { ExecOutcome } from '@cordon/protocol';
import type { Redis } from 'ioredis';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { NodeQueues } from '../dispatch/queues.ts';
import type { OutputObserver } from '../output/observer.ts';
import { listNodes } from '../state/nodes.ts';

export interface MetricsSources {
  readonly redis: Redis;
  readonly queues: NodeQueues;
  /** Bytes the gateway holds for output, by where they wait (sampled at scrape time). */
  readonly bufferedBytes: () => { readonly toRedis: number; readonly toClients: number };
}

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized'] as const;
/** A scrape's gauges share one read of the registry made within this window. */
const SNAPSHOT_MS = 250;

interface NodeSnapshot {
  readonly id: string;
  readonly up: boolean;
  readonly sandboxes: number;
  readonly pendingExecs: number;
  readonly queues: Record<'exec' | 'control', Record<string, number>>;
}

async function readNodes(src: MetricsSources): Promise<NodeSnapshot[]> {
  const nodes = await listNodes(src.redis);
  return Promise.all(
    nodes.map(async (n) => ({
      id: n.id,
      up: n.status === 'up',
      sandboxes: n.sandboxes,
      pendingExecs: n.pendingExecs,
      queues: {
        exec: await src.queues.execQueue(n.id).getJobCounts(...QUEUE_STATES),
        control: await src.queues.controlQueue(n.id).getJobCounts(...QUEUE_STATES),
      },
    })),
  );
}

/**
 * The gateway's Prometheus metrics, in a registry of its own (no process-global state, so several
 * gateways can live in one process, as in tests). Cluster-wide gauges (queues, sandboxes, nodes)
 * are read from Redis at scrape time; counters and histograms count what this gateway saw.
 */
export class GatewayMetrics implements OutputObserver {
  readonly registry = new Registry();
  readonly #outputBytes: Counter<'direction'>;
  readonly #execDuration: Histogram<'status'>;
  readonly #denials: Counter;
  readonly #httpRequests: Counter<'route' | 'code'>;

  constructor(src: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'cordon_gateway_' });
    this.#outputBytes = new Counter({
      name: 'cordon_output_bytes_total',
      help: 'Exec output bytes: stored (received from nodes into Redis) and delivered (sent to subscribers)',
      labelNames: ['direction'],
      registers,
    });
    this.#execDuration = new Histogram({
      name: 'cordon_exec_duration_seconds',
      help: 'Run time of execs whose outcome this gateway stored, as measured by the node',
      labelNames: ['status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.#denials = new Counter({
      name: 'cordon_denials_total',
      help: 'File accesses denied by sandbox policies, summed over ended execs',
      registers,
    });
    this.#httpRequests = new Counter({
      name: 'cordon_http_requests_total',
      help: 'HTTP requests by route family and status code',
      labelNames: ['route', 'code'],
      registers,
    });
    new Gauge({
      name: 'cordon_output_buffered_bytes',
      help: 'Output bytes held in this gateway: to_redis (received from nodes, not yet stored), to_clients (queued on subscriber connections)',
      labelNames: ['where'],
      registers,
      collect() {
        const b = src.bufferedBytes();
        this.set({ where: 'to_redis' }, b.toRedis);
        this.set({ where: 'to_clients' }, b.toClients);
      },
    });
    // prom-client collects all metrics concurrently: each gauge awaits one shared snapshot of the
    // registry and queues per scrape instead of reading Redis itself.
    let snapshot: { atMs: number; p: Promise<NodeSnapshot[]> } | null = null;
    const nodesNow = () => {
      if (!snapshot || Date.now() - snapshot.atMs > SNAPSHOT_MS) {
        snapshot = { atMs: Date.now(), p: readNodes(src) };
      }
      return snapshot.p;
    };
    const perNode = (name: string, help: string, value: (n: NodeSnapshot) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['node'],
        registers,
        async collect() {
          const nodes = await nodesNow();
          this.reset();
          for (const n of nodes) this.set({ node: n.id }, value(n));
        },
      });
    };
    perNode('cordon_node_up', '1 while the node heartbeats, 0 once its heartbeat expired', (n) =>
      n.up ? 1 : 0,
    );
    perNode('cordon_sandboxes_active', 'Sandboxes held per node', (n) => n.sandboxes);
    perNode('cordon_execs_pending', 'Execs queued or running per node', (n) => n.pendingExecs);
    new Gauge({
      name: 'cordon_queue_depth',
      help: 'BullMQ jobs per node queue (exec / control) and state',
      labelNames: ['node', 'queue', 'state'],
      registers,
      async collect() {
        const nodes = await nodesNow();
        this.reset();
        for (const n of nodes) {
          for (const [queue, counts] of Object.entries(n.queues)) {
            for (const state of QUEUE_STATES) {
              this.set({ node: n.id, queue, state }, counts[state] ?? 0);
            }
          }
        }
      },
    });
  }

  chunkStored(bytes: number): void {
    this.#outputBytes.inc({ direction: 'stored' }, bytes);
  }

  chunkDelivered(bytes: number): void {
    this.#outputBytes.inc({ direction: 'delivered' }, bytes);
  }

  execEnded(outcome: ExecOutcome): void {
    const r = outcome.result;
    if (!r) return;
    this.#execDuration.observe({ status: outcome.status }, r.durationMs / 1000);
    const denied = (r as { denials?: { count?: number } }).denials?.count ?? 0;
    if (denied > 0) this.#denials.inc(denied);
  }

  httpRequest(route: string, code: number): void {
    this.#httpRequests.inc({ route, code: String(code) });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
