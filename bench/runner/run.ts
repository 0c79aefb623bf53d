// Benchmark: exec of `true` through the runner (with its standby wrapper, without it, and right
// after the previous exec) vs the same setpriv+bwrap argv spawned directly vs a minimal bwrap vs
// firejail vs plain `true`; p50/p99 over N interleaved rounds, and runner execs/s at concurrency
// 1..4. Every variant is spawned with execa so the spawner's cost is shared.
//
//   source scripts/env.sh && node bench/runner/run.ts [--runs 300] [--out FILE]
//
// Needs root (setpriv, cgroups) — the same host requirements as the node agent.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import {
  buildBwrapArgs,
  collect,
  createCgroupDriver,
  requireHost,
  SandboxRunner,
  sandboxFdPayloads,
  sandboxSpec,
} from '@cordon/node-agent/runner';

const argValue = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const RUNS = Number(argValue('--runs', '300'));
const OUT = argValue('--out', '');
const WARMUP = 20;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface Variant {
  readonly name: string;
  readonly run: () => Promise<void>;
  /** Runs this many times back to back per round; only the last one is timed. */
  readonly repeat?: number;
}

interface Stat {
  readonly name: string;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly times: readonly number[];
}

/**
 * Runs the variants in rounds — one timed run of each per round, in a fixed order — so load from
 * other processes on the machine drifts over all variants alike instead of over whichever ran
 * during a busy minute.
 */
async function measureInterleaved(variants: readonly Variant[]): Promise<Stat[]> {
  for (let i = 0; i < WARMUP; i++) for (const v of variants) await v.run();
  const times = variants.map((): number[] => []);
  for (let i = 0; i < RUNS; i++) {
    for (const [k, v] of variants.entries()) {
      for (let j = 1; j < (v.repeat ?? 1); j++) await v.run();
      const t0 = performance.now();
      await v.run();
      times[k]?.push(performance.now() - t0);
    }
  }
  return variants.map((v, k) => {
    const t = times[k] ?? [];
    const sorted = [...t].sort((a, b) => a - b);
    const mean = t.reduce((a, b) => a + b, 0) / t.length;
    const r = { name: v.name, p50: pct(sorted, 50), p99: pct(sorted, 99), mean, times: t };
    console.error(`${v.name.padEnd(56)} p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms`);
    return r;
  });
}

/** Median over rounds of (a − b), the two measured in the same round. */
function pairedMedian(a: Stat, b: Stat): number {
  const d = a.times.map((t, i) => t - (b.times[i] ?? NaN)).sort((x, y) => x - y);
  return pct(d, 50);
}

async function ok(p: Promise<{ exitCode?: number | undefined }>): Promise<void> {
  const r = await p;
  if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}`);
}

const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'cordon-bench-'));
await fsp.chmod(root, 0o755);
const host = await requireHost({ runtimeDir: path.join(root, 'run'), requireFuse: false });
const cgroups = createCgroupDriver(host.cgroup);
const uid = 2_900_000;
const ws = path.join(root, 'ws');
await fsp.mkdir(ws);
await fsp.chown(ws, uid, uid);
const spec = sandboxSpec({ sandboxId: `bench-${process.pid}`, workspaceDir: ws, uid, gid: uid });
const runner = await SandboxRunner.open(spec, { host, cgroups });
// The same exec without the standby wrapper: the wrapper is spawned per exec and joins the leaf
// on the critical path (the design before the standby; see docs/runner.md).
const coldSpec = sandboxSpec({
  sandboxId: `bench-cold-${process.pid}`,
  workspaceDir: ws,
  uid,
  gid: uid,
});
const cold = await SandboxRunner.open(coldSpec, { host, cgroups }, { standbys: 0 });

const rawArgv = buildBwrapArgs(spec, { argv: ['true'] }, host.layout);
const payloads = sandboxFdPayloads(spec, null);
const rawStdio = (): ['ignore', 'pipe', 'pipe', Uint8Array, Uint8Array] => [
  'ignore',
  'pipe',
  'pipe',
  payloads.get(3) as Uint8Array,
  payloads.get(4) as Uint8Array,
];
const [rawFile, ...rawArgs] = rawArgv;
const minimal = [
  '--ro-bind',
  '/',
  '/',
  '--dev',
  '/dev',
  '--proc',
  '/proc',
  '--unshare-all',
  '--die-with-parent',
  'true',
];
const firejail = fs.existsSync('/usr/bin/firejail');

const loadStart = os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
let results: Stat[] = [];
try {
  const viaRunner = (r: SandboxRunner) => async (): Promise<void> => {
    const { result } = await collect(await r.exec({ argv: ['true'] }));
    if (result.exitCode !== 0) throw new Error(`exit ${result.exitCode}`);
  };
  const variants: Variant[] = [
    { name: 'plain `true`', run: () => ok(execa('true')) },
    { name: 'bwrap minimal (--unshare-all, ro /)', run: () => ok(execa('bwrap', minimal)) },
    {
      name: 'raw setpriv+bwrap, runner argv',
      run: () => ok(execa(rawFile as string, rawArgs, { stdio: rawStdio(), reject: false })),
    },
    ...(firejail
      ? [
          {
            name: 'firejail --noprofile --net=none',
            run: () =>
              ok(
                execa('firejail', ['--quiet', '--noprofile', '--net=none', 'true'], {
                  reject: false,
                }),
              ),
          },
        ]
      : []),
    { name: 'runner without standby (join on the critical path)', run: viaRunner(cold) },
    { name: 'runner (standby wrappers, stream, result)', run: viaRunner(runner) },
    {
      name: 'runner, exec right after the previous one',
      run: viaRunner(runner),
      repeat: 2,
    },
  ];
  results = await measureInterleaved(variants);

  const concurrency: { n: number; perSec: number }[] = [];
  for (const n of [1, 2, 3, 4]) {
    const total = Math.max(100, Math.floor(RUNS / 2));
    let left = total;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: n }, async () => {
        while (left-- > 0) await collect(await runner.exec({ argv: ['true'] }));
      }),
    );
    const perSec = total / ((performance.now() - t0) / 1000);
    concurrency.push({ n, perSec });
    console.error(`runner concurrency ${n}: ${perSec.toFixed(0)} execs/s`);
  }

  const raw = results.find((r) => r.name.startsWith('raw'));
  const run = results.find((r) => r.name.startsWith('runner (standby'));
  const b2b = results.find((r) => r.name.startsWith('runner, exec right after'));
  const overhead = run && raw ? run.p50 - raw.p50 : NaN;
  const paired = run && raw ? pairedMedian(run, raw) : NaN;
  const pairedB2b = b2b && raw ? pairedMedian(b2b, raw) : NaN;
  const md = [
    `Runs: ${RUNS} rounds (one timed run of each variant per round, interleaved) after ${WARMUP} warm-up rounds; ${os.cpus().length} cores, Node ${process.version}, bwrap ${host.bwrap.version}, cgroup v${host.cgroup.version}; spawned with execa; load average ${loadStart} at start, ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at the end.`,
    '',
    '| variant | p50 ms | p99 ms | mean ms |',
    '|---|---|---|---|',
    ...results.map(
      (r) => `| ${r.name} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.mean.toFixed(2)} |`,
    ),
    '',
    `Runner overhead above raw setpriv+bwrap at p50: **${overhead.toFixed(2)} ms** (median of the per-round differences: ${paired.toFixed(2)} ms; exec right after the previous one: ${pairedB2b.toFixed(2)} ms).`,
    '',
    '| concurrency | runner execs/s |',
    '|---|---|',
    ...concurrency.map((c) => `| ${c.n} | ${c.perSec.toFixed(0)} |`),
    '',
  ].join('\n');
  console.log(md);
  if (OUT) await fsp.writeFile(OUT, md);
} finally {
  await runner.close();
  await cold.close();
  await fsp.rm(root, { recursive: true, force: true });
}
