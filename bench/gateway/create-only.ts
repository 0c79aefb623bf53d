// Sandbox create latency alone (issue 5 item 9, "create p50 ≤ 50 ms"), for iterating on the create
// path. Two patterns, each on a new empty codebase per create, destroyed before the next:
//   - sequential with a gap (`--gap-ms`, default 500): a user creating sandboxes one at a time;
//     the node agent's fs-host pool has time to refill between creates;
//   - burst: back-to-back creates (what run.ts measures), which can outrun the pool's refill.
//
// With --first-exec, each create is followed at once by an exec of `true` in the new sandbox
// (sandboxes.exec + execs.wait), timed separately: the first exec's latency, so that work moved
// out of the create (the first standby wrapper is made while the sandbox is reported ready) shows.
//
//   source scripts/env.sh && node bench/gateway/create-only.ts [--creates 40] [--gap-ms 500] [--only gap|burst] [--first-exec]
//   CORDON_BENCH_NODE_LOG=debug node bench/gateway/create-only.ts … | grep 'create stages'
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStack, type Stack } from './stack.ts';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const CREATES = Number(arg('--creates', '40'));
const GAP_MS = Number(arg('--gap-ms', '500'));
const ONLY = arg('--only', '');
const FIRST_EXEC = process.argv.includes('--first-exec');
const firstExecs: number[] = [];
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function creates(s: Stack, n: number, gapMs: number, warmUp = false): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    if (gapMs > 0) await sleep(gapMs);
    const t0 = performance.now();
    const sb = await s.call<{ id: string; state: string }>('sandboxes.create', {
      preset: 'agent-safe',
    });
    times.push(performance.now() - t0);
    if (sb.state !== 'ready') throw new Error(`sandbox ${sb.id} is ${sb.state}`);
    if (FIRST_EXEC) {
      const t1 = performance.now();
      const { execId } = await s.call<{ execId: string }>('sandboxes.exec', {
        sandboxId: sb.id,
        argv: ['true'],
      });
      const rec = await s.call<{ status: string }>('execs.wait', { execId }, true);
      if (rec.status !== 'exited') throw new Error(`exec ${execId} is ${rec.status}`);
      if (gapMs > 0 && !warmUp) firstExecs.push(performance.now() - t1);
    }
    await s.call('sandboxes.destroy', { sandboxId: sb.id });
  }
  return times;
}

function row(name: string, times: readonly number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const f = (x: number) => x.toFixed(1);
  return `| ${name} | ${times.length} | ${f(pct(sorted, 50))} | ${f(pct(sorted, 90))} | ${f(pct(sorted, 99))} | ${f(mean)} |`;
}

const loadStart = load();
const s = await startStack();
try {
  // Warm-up: the first creates pay for the node agent's lazy loads and the pool's first fill.
  await sleep(1_000);
  await creates(s, 3, 300, true);
  const rows = [
    '| sandboxes.create | n | p50 ms | p90 ms | p99 ms | mean ms |',
    '|---|---|---|---|---|---|',
  ];
  if (ONLY !== 'burst')
    rows.push(row(`sequential, ${GAP_MS} ms gap`, await creates(s, CREATES, GAP_MS)));
  if (ONLY !== 'gap') rows.push(row('burst (back-to-back)', await creates(s, CREATES, 0)));
  if (firstExecs.length > 0)
    rows.push(row('first exec of `true` right after a gap create', firstExecs));
  console.log(
    [
      `${os.cpus().length} cores, Node ${process.version}; load average ${loadStart} at start, ${load()} at the end.`,
      '',
      ...rows,
    ].join('\n'),
  );
} finally {
  await s.stop();
}
