// Benchmark: session command round trip — run() of a command in an open session, from the call
// to the resolved result (output complete, status known, state saved), p50/p99 over N commands;
// plus a streaming run() and, for scale, a fresh runner exec of the same command.
//
//   source scripts/env.sh && node bench/session/run.ts [--runs 300] [--out FILE]
//
// Needs root (setpriv, cgroups) — the same host requirements as the node agent.
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  collect,
  createCgroupDriver,
  requireHost,
  SandboxRunner,
  sandboxSpec,
} from '@cordon/node-agent/runner';
import { openSession } from '@cordon/node-agent/session';

const argValue = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const RUNS = Number(argValue('--runs', '300'));
const OUT = argValue('--out', '');
const WARMUP = 30;

interface Row {
  readonly name: string;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function measure(name: string, runs: number, fn: () => Promise<void>): Promise<Row> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const r = { name, p50: pct(times, 50), p99: pct(times, 99), mean };
  console.error(`${name.padEnd(40)} p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms`);
  return r;
}

const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'cordon-bench-session-'));
await fsp.chmod(root, 0o755);
const host = await requireHost({ runtimeDir: path.join(root, 'run'), requireFuse: false });
const cgroups = createCgroupDriver(host.cgroup);
const uid = 2_900_100;
const ws = path.join(root, 'ws');
await fsp.mkdir(ws);
await fsp.chown(ws, uid, uid);
const spec = sandboxSpec({
  sandboxId: `bench-session-${process.pid}`,
  workspaceDir: ws,
  uid,
  gid: uid,
});
const runner = await SandboxRunner.open(spec, { host, cgroups });
const session = await openSession({ spec, cgroup: runner.cgroup, layout: host.layout });

const rows: Row[] = [];
try {
  const expectOut = (want: string) => async (cmd: string) => {
    const r = await session.run(cmd);
    if (r.exitCode !== 0 || r.stdout !== want)
      throw new Error(`unexpected result ${JSON.stringify(r)}`);
  };
  const quiet = expectOut('');
  const echo = expectOut('x\n');
  rows.push(await measure('session run(`true`)', RUNS, () => quiet('true')));
  rows.push(await measure('session run(`echo x`)', RUNS, () => echo('echo x')));
  rows.push(
    await measure('session run(`cd /tmp; export A=$RANDOM`)', RUNS, () =>
      quiet('cd /tmp; export A=$RANDOM'),
    ),
  );
  rows.push(await measure('session run(`/bin/true`) (fork+exec)', RUNS, () => quiet('/bin/true')));
  rows.push(
    await measure('session stream(`echo x`), iterated', RUNS, async () => {
      const cmd = session.stream('echo x');
      let bytes = 0;
      for await (const chunk of cmd) bytes += chunk.data.byteLength;
      if ((await cmd.result).exitCode !== 0 || bytes !== 2) throw new Error('failed');
    }),
  );
  rows.push(
    await measure('for scale: fresh runner exec of `true`', Math.min(RUNS, 100), async () => {
      const { result } = await collect(await runner.exec({ argv: ['true'] }));
      if (result.exitCode !== 0) throw new Error(`exit ${result.exitCode}`);
    }),
  );

  const load = os.loadavg()[0]?.toFixed(2) ?? '?';
  const md = [
    `Runs: ${RUNS} commands per variant (100 for the runner exec) after ${WARMUP} warm-up runs, one session; ` +
      `${os.cpus().length} cores, load average ${load} at the end, Node ${process.version}, bwrap ${host.bwrap.version}, cgroup v${host.cgroup.version}.`,
    '',
    '| variant | p50 ms | p99 ms | mean ms |',
    '|---|---|---|---|',
    ...rows.map(
      (r) => `| ${r.name} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.mean.toFixed(2)} |`,
    ),
    '',
  ].join('\n');
  console.log(md);
  if (OUT) await fsp.writeFile(OUT, md);
} finally {
  await session.close();
  await runner.close();
  await fsp.rm(root, { recursive: true, force: true });
}
