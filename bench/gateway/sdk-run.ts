// `sandbox.run(['true'])` through @cordon/client — what an SDK user's exec costs end to end
// (tRPC over websocket/HTTP, live output subscription, result), next to run.ts's two raw HTTP
// calls:
//   source scripts/env.sh && node bench/gateway/sdk-run.ts [--runs 300] [--gap-ms 50]
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCordon } from '@cordon/client';
import { stat } from './roundtrip.ts';
import { startStack } from './stack.ts';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const RUNS = Number(arg('--runs', '300'));
const GAP_MS = Number(arg('--gap-ms', '0'));

const s = await startStack();
const cordon = createCordon({ url: s.baseUrl, token: s.token });
try {
  const sb = await cordon.sandbox.create({ preset: 'agent-safe' });
  for (let i = 0; i < 20; i++) await sb.run(['true']);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    if (GAP_MS > 0) await sleep(GAP_MS);
    const t0 = performance.now();
    const r = await sb.run(['true']);
    times.push(performance.now() - t0);
    if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}`);
  }
  stat(`sandbox.run(['true']) via @cordon/client, ${GAP_MS} ms between runs`, times);
  console.error(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await cordon.close();
  await s.stop();
}
