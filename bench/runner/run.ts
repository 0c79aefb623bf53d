// Benchmark: exec of `true` through the runner vs the same setpriv+bwrap argv spawned directly vs
// a minimal bwrap vs firejail vs plain `true`; p50/p99 over N runs, and runner execs/s at
// concurrency 1..4. Every variant is spawned with execa so the spawner's cost is shared.
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

async function measure(
  name: string,
  fn: () => Promise<void>,
): Promise<{ name: string; p50: number; p99: number; mean: number }> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const r = { name, p50: pct(times, 50), p99: pct(times, 99), mean };
  console.error(`${name.padEnd(44)} p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms`);
  return r;
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

const results = [];
try {
  results.push(await measure('plain `true`', () => ok(execa('true'))));
  results.push(
    await measure('bwrap minimal (--unshare-all, ro /)', () => ok(execa('bwrap', minimal))),
  );
  results.push(
    await measure('raw setpriv+bwrap, runner argv', () =>
      ok(execa(rawFile as string, rawArgs, { stdio: rawStdio(), reject: false })),
    ),
  );
  if (firejail) {
    results.push(
      await measure('firejail --noprofile --net=none', () =>
        ok(execa('firejail', ['--quiet', '--noprofile', '--net=none', 'true'], { reject: false })),
      ),
    );
  }
  results.push(
    await measure('runner (cgroup leaf, wrapper, stream, result)', async () => {
      const { result } = await collect(await runner.exec({ argv: ['true'] }));
      if (result.exitCode !== 0) throw new Error(`exit ${result.exitCode}`);
    }),
  );

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
  const run = results.find((r) => r.name.startsWith('runner'));
  const overhead = run && raw ? run.p50 - raw.p50 : NaN;
  const md = [
    `Runs: ${RUNS} per variant after ${WARMUP} warm-up runs; ${os.cpus().length} cores, Node ${process.version}, bwrap ${host.bwrap.version}, cgroup v${host.cgroup.version}; spawned with execa.`,
    '',
    '| variant | p50 ms | p99 ms | mean ms |',
    '|---|---|---|---|',
    ...results.map(
      (r) => `| ${r.name} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.mean.toFixed(2)} |`,
    ),
    '',
    `Runner overhead above raw setpriv+bwrap at p50: **${overhead.toFixed(2)} ms**.`,
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
  await fsp.rm(root, { recursive: true, force: true });
}
