// Gateway benchmark, one run side by side (issue 5 item 9):
//   1. exec round trip of `true` in a warm sandbox: full path vs runner alone vs raw bwrap;
//   2. sandbox create latency;
//   3. streaming `head -c N /dev/zero` to a client (tRPC websocket and raw HTTP), gateway RSS
//      sampled, and a paused subscriber.
//
//   source scripts/env.sh && node bench/gateway/run.ts [--runs 500] [--creates 30] [--mib 512] [--out FILE]
//   [--only roundtrip]   (exec round trips alone: no create or streaming phase)
//   [--variants full,runner,raw]  (which round-trip variants; default all, interleaved)
//   [--gap-ms N]   (pause after each round, like an agent between commands; default 0)
//   [--gateway-args '--cpu-prof --cpu-prof-dir=DIR'] [--node-agent-args '…']
//
// Needs root (the node agent runs real bwrap + FUSE sandboxes). Starts redis-server, a gateway
// process and a node agent process in a temp dir and stops them by PID.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { createLatency, roundTrips, type Stat } from './roundtrip.ts';
import { cpuSeconds, startStack } from './stack.ts';
import { pausedSubscriber, streamViaHttpRaw, streamViaWebsocket } from './stream.ts';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const RUNS = Number(arg('--runs', '500'));
const CREATES = Number(arg('--creates', '30'));
const MIB = Number(arg('--mib', '512'));
const OUT = arg('--out', '');
const ONLY_RT = arg('--only', '') === 'roundtrip';
const MiB = 1024 * 1024;
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

function cpuOfStack(): { gateway: number; node: number; redis: number } {
  return {
    gateway: cpuSeconds(s.gatewayPid),
    node: cpuSeconds(s.nodePid),
    redis: cpuSeconds(s.redisPid),
  };
}

const loadStart = load();
const s = await startStack({
  gatewayNodeArgs: arg('--gateway-args', '').split(' ').filter(Boolean),
  nodeAgentNodeArgs: arg('--node-agent-args', '').split(' ').filter(Boolean),
});
try {
  const sb = await s.call<{ id: string }>('sandboxes.create', {
    preset: 'agent-safe',
    limits: { outputBytes: MIB * MiB, timeoutMs: 600_000 },
  });
  const cpu0 = cpuOfStack();
  const variants = arg('--variants', '');
  const rt = await roundTrips(s, sb.id, RUNS, 20, {
    ...(variants ? { variants: variants.split(',') } : {}),
    gapMs: Number(arg('--gap-ms', '0')),
  });
  const cpu1 = cpuOfStack();
  // CPU per full-path exec (the other variants run in this process): less noisy than latency.
  const perExec = (k: keyof typeof cpu0) => (((cpu1[k] - cpu0[k]) * 1000) / (RUNS + 20)).toFixed(2);
  console.error(
    `CPU ms per full-path exec: gateway ${perExec('gateway')}, node agent ${perExec('node')}, redis ${perExec('redis')}`,
  );
  if (ONLY_RT) {
    console.log(
      [
        `load average ${loadStart} at start, ${load()} at the end`,
        ...rt.map(
          (r) =>
            `${r.name}: p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} mean ${r.mean.toFixed(2)}`,
        ),
      ].join('\n'),
    );
  } else {
    await otherPhases(sb.id, rt);
  }
} finally {
  await s.stop();
}

async function otherPhases(sandboxId: string, rt: readonly Stat[]): Promise<void> {
  const create = await createLatency(s, CREATES);
  const ws = await streamViaWebsocket(s, sandboxId, MIB * MiB);
  const raw = await streamViaHttpRaw(s, sandboxId, MIB * MiB);
  const paused = await pausedSubscriber(s, sandboxId, MIB * MiB);

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
}
