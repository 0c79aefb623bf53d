// Streaming part of the gateway benchmark alone, for iterating on the output path:
//   source scripts/env.sh && node bench/gateway/stream-only.ts [--mib 512] [--only client|ws|raw] [--paused] [--node-agent-args '…'] [--gateway-args '--cpu-prof --cpu-prof-dir=/tmp/prof'] [--redis-stats]
// --redis-stats prints Redis's own CPU time per command (INFO commandstats) for the output path.
// client = @cordon/client (tRPC websocket with binary output frames, what `cordon run` uses);
// ws = a plain tRPC websocket subscription (JSON + base64, what a non-@cordon/client tRPC client
// gets); raw = GET /v1/execs/:id/output?format=raw.
import os from 'node:os';
import { createCordon } from '@cordon/client';
import { startStack, type Stack } from './stack.ts';
import {
  measure,
  pausedSubscriber,
  startExec,
  streamViaHttpRaw,
  streamViaWebsocket,
} from './stream.ts';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const MIB = Number(arg('--mib', '512'));
const gatewayArgs = arg('--gateway-args', '').split(' ').filter(Boolean);
const MiB = 1024 * 1024;
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

console.error(`load average ${load()} at start`);
const gatewayEnv = Object.fromEntries(
  arg('--gateway-env', '')
    .split(' ')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const nodeAgentNodeArgs = arg('--node-agent-args', '').split(' ').filter(Boolean);
/** @cordon/client's output iterator: the tRPC websocket with binary output frames. */
async function streamViaClient(st: Stack, sandboxId: string, bytes: number): Promise<void> {
  const execId = await startExec(st, sandboxId, bytes);
  const cordon = createCordon({ url: st.baseUrl, token: st.token });
  try {
    await measure(st, '@cordon/client (tRPC websocket, binary output frames)', bytes, async () => {
      let got = 0;
      for await (const ev of cordon.execs.attach(execId)) {
        if (ev.kind !== 'gap') got += ev.data.length;
      }
      return got;
    });
  } finally {
    await cordon.close();
  }
}

const s = await startStack({ gatewayNodeArgs: gatewayArgs, gatewayEnv, nodeAgentNodeArgs });
try {
  const sb = await s.call<{ id: string }>('sandboxes.create', {
    preset: 'agent-safe',
    limits: { outputBytes: MIB * MiB, timeoutMs: 600_000 },
  });
  const only = arg('--only', '');
  if (only === '' || only === 'client') await streamViaClient(s, sb.id, MIB * MiB);
  if (only === '' || only === 'ws') await streamViaWebsocket(s, sb.id, MIB * MiB);
  if (only === '' || only === 'raw') await streamViaHttpRaw(s, sb.id, MIB * MiB);
  if (process.argv.includes('--paused')) await pausedSubscriber(s, sb.id, MIB * MiB);
  if (process.argv.includes('--redis-stats')) {
    const stats = (await s.redis.info('commandstats'))
      .split('\n')
      .filter((l) => /^cmdstat_(xadd|xread|eval|evalsha|exec|multi|xtrim):/.test(l));
    console.error(stats.join('\n'));
  }
} finally {
  await s.stop();
}
console.error(`load average ${load()} at end`);
