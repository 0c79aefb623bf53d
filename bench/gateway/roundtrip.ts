// Exec of `true` through the full path (HTTP → gateway → BullMQ → node agent → FUSE + bwrap
// sandbox → websocket → Redis → execs.wait) vs the node agent's runner alone vs the runner's raw
// setpriv+bwrap argv, measured interleaved (one run of each per round) so load hits all alike.
// Plus sandbox create latency through the gateway.
import fsp from 'node:fs/promises';
import path from 'node:path';
import {
  buildBwrapArgs,
  collect,
  createCgroupDriver,
  requireHost,
  SandboxRunner,
  sandboxFdPayloads,
  sandboxSpec,
} from '@cordon/node-agent/runner';
import { execa } from 'execa';
import type { Stack } from './stack.ts';

export interface Stat {
  readonly name: string;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
}

function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export function stat(name: string, times: readonly number[]): Stat {
  const sorted = [...times].sort((a, b) => a - b);
  const s = {
    name,
    p50: pct(sorted, 50),
    p99: pct(sorted, 99),
    mean: times.reduce((a, b) => a + b, 0) / times.length,
  };
  console.error(`${name.padEnd(52)} p50 ${s.p50.toFixed(2)} ms  p99 ${s.p99.toFixed(2)} ms`);
  return s;
}

interface Variant {
  readonly name: string;
  run(): Promise<void>;
}

/** Where a full-path exec's time went (wall-clock ms, from the exec record's timestamps). */
export interface Stages {
  /** Client sent sandboxes.exec → gateway wrote the record. */
  toRecord: number[];
  /** Record written → node claimed it (BullMQ pick-up + claim). */
  toClaim: number[];
  /** Claimed → settled in Redis (sandbox prepare, run, commit, exit frame). */
  toSettle: number[];
  /** Settled → client has the record from execs.wait. */
  toClient: number[];
}

/** A gateway exec of `true`: `sandboxes.exec` then `execs.wait` (two HTTP calls). */
async function gatewayTrue(s: Stack, sandboxId: string, stages?: Stages): Promise<void> {
  const t0 = Date.now();
  const { execId } = await s.call<{ execId: string }>('sandboxes.exec', {
    sandboxId,
    argv: ['true'],
  });
  const rec = await s.call<{
    status: string;
    createdAtMs: number;
    startedAtMs: number | null;
    endedAtMs: number | null;
    result: { exitCode: number } | null;
  }>('execs.wait', { execId }, true);
  const t1 = Date.now();
  if (rec.status !== 'exited' || rec.result?.exitCode !== 0) {
    throw new Error(`exec ${execId}: ${JSON.stringify(rec)}`);
  }
  if (stages && rec.startedAtMs !== null && rec.endedAtMs !== null) {
    stages.toRecord.push(rec.createdAtMs - t0);
    stages.toClaim.push(rec.startedAtMs - rec.createdAtMs);
    stages.toSettle.push(rec.endedAtMs - rec.startedAtMs);
    stages.toClient.push(t1 - rec.endedAtMs);
  }
}

function printStages(st: Stages): void {
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)] ?? NaN;
  for (const [k, xs] of Object.entries(st) as [string, number[]][]) {
    console.error(`  full path stage ${k.padEnd(10)} p50 ${med(xs)} ms  p99 ${p99(xs)} ms`);
  }
}

export interface RoundTripOptions {
  /** Which variants run (default all three): 'full', 'runner', 'raw'. */
  readonly variants?: readonly string[];
  /** Pause after each round (default 0: back to back), like an agent's time between commands. */
  readonly gapMs?: number;
}

export async function roundTrips(
  s: Stack,
  sandboxId: string,
  rounds: number,
  warmup: number,
  o: RoundTripOptions = {},
): Promise<Stat[]> {
  const root = path.join(s.dir, 'runner-bench');
  await fsp.mkdir(root, { recursive: true });
  await fsp.chmod(root, 0o755);
  const host = await requireHost({ runtimeDir: path.join(root, 'run'), requireFuse: false });
  const cgroups = createCgroupDriver(host.cgroup);
  const uid = 2_950_000;
  const ws = path.join(root, 'ws');
  await fsp.mkdir(ws);
  await fsp.chown(ws, uid, uid);
  const spec = sandboxSpec({
    sandboxId: `gwbench-${process.pid}`,
    workspaceDir: ws,
    uid,
    gid: uid,
  });
  const runner = await SandboxRunner.open(spec, { host, cgroups });
  const rawArgv = buildBwrapArgs(spec, { argv: ['true'] }, host.layout);
  const payloads = sandboxFdPayloads(spec, null);
  const [rawFile, ...rawArgs] = rawArgv;
  const stages: Stages = { toRecord: [], toClaim: [], toSettle: [], toClient: [] };
  let measuring = false;
  const all: (Variant & { key: string })[] = [
    {
      key: 'full',
      name: 'full path: gateway → node agent → sandbox',
      run: () => gatewayTrue(s, sandboxId, measuring ? stages : undefined),
    },
    {
      key: 'runner',
      name: 'node agent runner alone (bwrap, no FUSE)',
      run: async () => {
        const { result } = await collect(await runner.exec({ argv: ['true'] }));
        if (result.exitCode !== 0) throw new Error(`exit ${result.exitCode}`);
      },
    },
    {
      key: 'raw',
      name: 'raw setpriv+bwrap (runner argv)',
      run: async () => {
        const r = await execa(rawFile as string, rawArgs, {
          stdio: [
            'ignore',
            'pipe',
            'pipe',
            payloads.get(3) as Uint8Array,
            payloads.get(4) as Uint8Array,
          ],
          reject: false,
        });
        if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}`);
      },
    },
  ];
  const variants = all.filter((v) => o.variants === undefined || o.variants.includes(v.key));
  const times = variants.map(() => [] as number[]);
  try {
    for (let i = 0; i < warmup + rounds; i++) {
      measuring = i >= warmup;
      for (const [k, v] of variants.entries()) {
        const t0 = performance.now();
        await v.run();
        if (i >= warmup) times[k]?.push(performance.now() - t0);
      }
      if (o.gapMs) await new Promise((r) => setTimeout(r, o.gapMs));
    }
  } finally {
    await runner.close();
  }
  const out = variants.map((v, k) => stat(v.name, times[k] ?? []));
  printStages(stages);
  return out;
}

/** `sandboxes.create` (waits until the node reports the sandbox ready), then destroy, N times. */
export async function createLatency(s: Stack, runs: number): Promise<Stat> {
  const times: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const t0 = performance.now();
    const sb = await s.call<{ id: string; state: string }>('sandboxes.create', {
      preset: 'agent-safe',
    });
    const ms = performance.now() - t0;
    if (sb.state !== 'ready') throw new Error(`sandbox ${sb.id} is ${sb.state}`);
    if (i >= 2) times.push(ms);
    await s.call('sandboxes.destroy', { sandboxId: sb.id });
  }
  return stat('sandboxes.create (new empty codebase each)', times);
}
