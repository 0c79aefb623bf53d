// Gateway benchmark, one run side by side (issue 5 item 9):
//   1. exec round trip of `true` in a warm sandbox: full path vs runner alone vs raw bwrap;
//   2. sandbox create latency;
//   3. streaming `head -c N /dev/zero` to a client (tRPC websocket and raw HTTP), gateway RSS
//      sampled, and a paused subscriber.
//
//   source scripts/env.sh && node bench/gateway/run.ts [--runs 500] [--creates 30] [--mib 512] [--out FILE]
//
// Needs root (the node agent runs real bwrap + FUSE sandboxes). Starts redis-server, a gateway
// process and a node agent process in a temp dir and stops them by PID.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { createLatency, roundTrips } from './roundtrip.ts';
import { startStack } from './stack.ts';
import { pausedSubscriber, streamViaHttpRaw, streamViaWebsocket } from './stream.ts';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const RUNS = Number(arg('--runs', '500'));
const CREATES = Number(arg('--creates', '30'));
const MIB = Number(arg('--mib', '512'));
const OUT = arg('--out', '');
const MiB = 1024 * 1024;
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const loadStart = load();
const s = await startStack();
try {
  const sb = await s.call<{ id: string }>('sandboxes.create', {
    preset: 'agent-safe',
    limits: { outputBytes: MIB * MiB, timeoutMs: 600_000 },
  });
  const rt = await roundTrips(s, sb.id, RUNS, 20);
  const create = await createLatency(s, CREATES);
  const ws = await streamViaWebsocket(s, sb.id, MIB * MiB);
  const raw = await streamViaHttpRaw(s, sb.id, MIB * MiB);
  const paused = await pausedSubscriber(s, sb.id, MIB * MiB);

  const f2 = (n: number) => n.toFixed(2);
  const md = [
    `Runs: ${RUNS} interleaved rounds after 20 warm-up rounds; ${os.cpus().length} cores, Node ${process.version}; executor: the node agent's bwrap + FUSE sandbox; load average ${loadStart} at start, ${load()} at the end.`,
    '',
    '| exec of `true` | p50 ms | p99 ms | mean ms |',
    '|---|---|---|---|',
    ...rt.map((r) => `| ${r.name} | ${f2(r.p50)} | ${f2(r.p99)} | ${f2(r.mean)} |`),
    `| ${create.name} | ${f2(create.p50)} | ${f2(create.p99)} | ${f2(create.mean)} |`,
    '',
    `| streaming \`head -c ${MIB}M /dev/zero\` | MiB/s | gateway RSS start → peak MiB | gateway CPU s |`,
    '|---|---|---|---|',
    ...[ws, raw].map(
      (f) =>
        `| ${f.client} | ${f.mibPerSec.toFixed(0)} | ${f.gatewayRssStartMiB.toFixed(0)} → ${f.gatewayRssPeakMiB.toFixed(0)} | ${f2(f.gatewayCpuSeconds)} |`,
    ),
    '',
    `Paused subscriber (socket stops reading after ${paused.receivedMiB.toFixed(1)} MiB, node keeps producing): gateway RSS over 5 s ${paused.rssMiB.map((x) => x.toFixed(0)).join(', ')} MiB; output held by the gateway (\`cordon_output_buffered_bytes\`) ${paused.bufferedMiB.map((x) => x.toFixed(1)).join(', ')} MiB.`,
  ].join('\n');
  console.log(md);
  if (OUT) writeFileSync(OUT, md + '\n');
} finally {
  await s.stop();
}
