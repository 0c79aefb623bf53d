// Streaming part of the gateway benchmark alone, for iterating on the output path:
//   source scripts/env.sh && node bench/gateway/stream-only.ts [--mib 512] [--only ws|raw] [--paused] [--node-agent-args '…'] [--gateway-args '--cpu-prof --cpu-prof-dir=/tmp/prof']
import os from 'node:os';
import { startStack } from './stack.ts';
import { pausedSubscriber, streamViaHttpRaw, streamViaWebsocket } from './stream.ts';

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
const s = await startStack({ gatewayNodeArgs: gatewayArgs, gatewayEnv, nodeAgentNodeArgs });
try {
  const sb = await s.call<{ id: string }>('sandboxes.create', {
    preset: 'agent-safe',
    limits: { outputBytes: MIB * MiB, timeoutMs: 600_000 },
  });
  const only = arg('--only', '');
  if (only !== 'raw') await streamViaWebsocket(s, sb.id, MIB * MiB);
  if (only !== 'ws') await streamViaHttpRaw(s, sb.id, MIB * MiB);
  if (process.argv.includes('--paused')) await pausedSubscriber(s, sb.id, MIB * MiB);
} finally {
  await s.stop();
}
console.error(`load average ${load()} at end`);
