// Streaming `head -c N /dev/zero` from a sandbox to a client, with the gateway's RSS sampled.
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { cpuSeconds, rssMiB, type Stack } from './stack.ts';

const MiB = 1024 * 1024;

export interface StreamFigures {
  readonly client: string;
  readonly mib: number;
  readonly seconds: number;
  readonly mibPerSec: number;
  readonly gatewayRssStartMiB: number;
  readonly gatewayRssPeakMiB: number;
  readonly gatewayCpuSeconds: number;
}

export interface PausedFigures {
  readonly receivedMiB: number;
  readonly rssMiB: readonly number[];
  readonly bufferedMiB: readonly number[];
}

/** A tRPC subscription over the raw websocket protocol (what wsLink sends), counting bytes. */
function subscribe(
  s: Stack,
  execId: string,
  onBytes: (bytes: number, end: boolean) => void,
): WebSocket {
  const ws = new WebSocket(`${s.wsUrl}?connectionParams=1`);
  ws.on('open', () => {
    ws.send(JSON.stringify({ method: 'connectionParams', data: { token: s.token } }));
    ws.send(
      JSON.stringify({
        id: 1,
        method: 'subscription',
        params: { path: 'execs.output', input: { execId } },
      }),
    );
  });
  ws.on('message', (raw: Buffer) => {
    const text = raw.toString();
    // tRPC's keep-alive: answer it, or the server drops a connection that is busy for > 30 s.
    if (text === 'PING') {
      ws.send('PONG');
      return;
    }
    const m = JSON.parse(text) as {
      result?: { data?: { data?: { kind: string; data?: string } } };
    };
    const ev = m.result?.data?.data;
    if (ev) onBytes(ev.data ? Buffer.byteLength(ev.data, 'base64') : 0, ev.kind === 'end');
  });
  return ws;
}

export async function startExec(s: Stack, sandboxId: string, bytes: number): Promise<string> {
  const r = await s.call<{ execId: string }>('sandboxes.exec', {
    sandboxId,
    argv: ['head', '-c', String(bytes), '/dev/zero'],
  });
  return r.execId;
}

export async function measure(
  s: Stack,
  client: string,
  bytes: number,
  read: () => Promise<number>,
): Promise<StreamFigures> {
  const start = rssMiB(s.gatewayPid);
  const cpu0 = cpuSeconds(s.gatewayPid);
  const others0 = [cpuSeconds(s.nodePid), cpuSeconds(s.redisPid), process.cpuUsage()];
  let peak = start;
  const perSecond: number[] = [];
  let tick = 0;
  const sampler = setInterval(() => {
    const now = rssMiB(s.gatewayPid);
    peak = Math.max(peak, now);
    if (++tick % 20 === 0) perSecond.push(now);
  }, 50);
  const t0 = performance.now();
  const got = await read();
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  if (got !== bytes) throw new Error(`${client}: received ${got} of ${bytes} bytes`);
  const f = {
    client,
    mib: got / MiB,
    seconds,
    mibPerSec: got / MiB / seconds,
    gatewayRssStartMiB: start,
    gatewayRssPeakMiB: peak,
    gatewayCpuSeconds: cpuSeconds(s.gatewayPid) - cpu0,
  };
  const cpuClient = process.cpuUsage(others0[2] as NodeJS.CpuUsage);
  const others = `node agent ${(cpuSeconds(s.nodePid) - (others0[0] as number)).toFixed(2)} s, redis ${(cpuSeconds(s.redisPid) - (others0[1] as number)).toFixed(2)} s, client ${((cpuClient.user + cpuClient.system) / 1e6).toFixed(2)} s`;
  console.error(
    `${client}: ${f.mib.toFixed(0)} MiB in ${seconds.toFixed(2)} s = ${f.mibPerSec.toFixed(0)} MiB/s; gateway RSS ${start.toFixed(0)} → peak ${peak.toFixed(0)} MiB, CPU ${f.gatewayCpuSeconds.toFixed(2)} s (${others}); RSS each second ${perSecond.map((x) => x.toFixed(0)).join(' ')}`,
  );
  return f;
}

export async function streamViaWebsocket(
  s: Stack,
  sandboxId: string,
  bytes: number,
): Promise<StreamFigures> {
  const execId = await startExec(s, sandboxId, bytes);
  return measure(s, 'tRPC subscription (websocket, JSON + base64)', bytes, async () => {
    let got = 0;
    await new Promise<void>((resolve) => {
      const ws = subscribe(s, execId, (b, end) => {
        got += b;
        if (end) {
          ws.close();
          resolve();
        }
      });
    });
    return got;
  });
}

export async function streamViaHttpRaw(
  s: Stack,
  sandboxId: string,
  bytes: number,
): Promise<StreamFigures> {
  const execId = await startExec(s, sandboxId, bytes);
  return measure(s, 'HTTP raw (GET /v1/execs/:id/output?format=raw)', bytes, async () => {
    const res = await fetch(`${s.baseUrl}/v1/execs/${execId}/output?format=raw`, {
      headers: { authorization: `Bearer ${s.token}` },
    });
    let got = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) got += chunk.length;
    return got;
  });
}

async function bufferedMiB(s: Stack): Promise<number> {
  const text = await (await fetch(`${s.baseUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cordon_output_buffered_bytes{')) sum += Number(line.split(' ')[1]);
  }
  return sum / MiB;
}

/** A subscriber whose socket stops reading after its first messages; 5 s of samples. */
export async function pausedSubscriber(
  s: Stack,
  sandboxId: string,
  bytes: number,
): Promise<PausedFigures> {
  const execId = await startExec(s, sandboxId, bytes);
  let got = 0;
  const ws = subscribe(s, execId, (b) => (got += b));
  await sleep(300);
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  const rss: number[] = [];
  const buffered: number[] = [];
  for (let i = 0; i < 10; i++) {
    await sleep(500);
    rss.push(rssMiB(s.gatewayPid));
    buffered.push(await bufferedMiB(s));
  }
  ws.terminate();
  await s.call('execs.cancel', { execId }).catch(() => undefined);
  console.error(
    `paused subscriber: ${(got / MiB).toFixed(1)} MiB before pausing; gateway RSS ${rss.map((x) => x.toFixed(0)).join(' ')} MiB; held output ${buffered.map((x) => x.toFixed(1)).join(' ')} MiB`,
  );
  return { receivedMiB: got / MiB, rssMiB: rss, bufferedMiB: buffered };
}
