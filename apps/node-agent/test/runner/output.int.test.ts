// Output streaming against real commands: order, the cap, and bounded memory under a slow consumer.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutputChunk } from '../../src/output/mux.ts';
import { MIB } from '../../src/runner/spec.ts';
import { run, setupTestHost, type TestHost } from './helpers.ts';

let t: TestHost;
beforeAll(async () => {
  t = await setupTestHost();
});
afterAll(async () => {
  await t?.cleanup();
});

describe('output', () => {
  it('delivers stdout and stderr as ordered chunks with increasing seq', async () => {
    const r = await t.sandbox();
    const exec = await r.exec({
      argv: ['sh', '-c', 'for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; sleep 0.1; done'],
    });
    const chunks: OutputChunk[] = [];
    for await (const c of exec) chunks.push(c);
    const result = await exec.result;
    expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
    const text = (s: string): string =>
      chunks
        .filter((c) => c.stream === s)
        .map((c) => Buffer.from(c.data).toString())
        .join('');
    expect(text('stdout')).toBe('out1\nout2\nout3\nout4\nout5\n');
    expect(text('stderr')).toBe('err1\nerr2\nerr3\nerr4\nerr5\n');
    // Interleaving is preserved when the writes are apart in time (on a loaded machine two
    // writes of one stream may still arrive as one chunk, so look for the chunk holding each).
    const at = (line: string): number =>
      chunks.findIndex((c) => Buffer.from(c.data).toString().split('\n').includes(line));
    expect(at('out3')).toBeLessThan(at('err3'));
    expect(at('err3')).toBeLessThan(at('out4'));
    expect(result).toMatchObject({ stdoutBytes: 25, stderrBytes: 25, truncated: false });
  });

  it('drops output beyond the cap while the command keeps running', async () => {
    const r = await t.sandbox({ limits: { outputBytes: 1 * MIB } });
    const { result, stdout, stderr } = await run(r, [
      'sh',
      '-c',
      'head -c 10000000 /dev/zero | tr "\\0" a; echo still-running >&2; exit 5',
    ]);
    expect(result.exitCode).toBe(5); // ran to its end
    expect(result.truncated).toBe(true);
    expect(result.stdoutBytes).toBe(10_000_000); // counted, not delivered
    expect(stdout.length + stderr.length).toBe(1 * MIB);
    expect(stderr).toBe(''); // the later stderr line was past the cap too
  });

  it('feeds stdin when asked', async () => {
    const r = await t.sandbox();
    const exec = await r.exec(
      { argv: ['sh', '-c', 'read line; echo "got $line"'] },
      { stdin: 'pipe' },
    );
    exec.stdin?.end('hello\n');
    const out: string[] = [];
    for await (const c of exec) out.push(Buffer.from(c.data).toString());
    expect(out.join('')).toBe('got hello\n');
    expect((await exec.result).exitCode).toBe(0);
  });

  it('`yes` for 10 s into a slow consumer keeps memory bounded (backpressure)', async () => {
    const r = await t.sandbox();
    const highWaterBytes = 256 * 1024;
    // Cap far above what the consumer takes, so everything measured is backpressure, not dropping.
    const exec = await r.exec(
      { argv: ['yes'] },
      { timeoutMs: 10_000, killGraceMs: 100, highWaterBytes, outputBytes: 4096 * MIB },
    );
    globalThis.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    let consumed = 0;
    let n = 0;
    for await (const c of exec) {
      consumed += c.data.byteLength;
      if (++n % 8 === 0) peak = Math.max(peak, process.memoryUsage().rss);
      await sleep(10); // slow consumer: one chunk (≤ 64 KiB) per 10 ms, ≤ 6.4 MB/s
    }
    const result = await exec.result;
    expect(result.timedOut).toBe(true);
    // What `yes` managed to write is what we consumed plus at most the bounded buffers (our queue,
    // the pipes): it was stalled, not buffered. Unthrottled it writes GBs in 10 s.
    expect(result.stdoutBytes - consumed).toBeLessThan(highWaterBytes + 4 * MIB);
    expect(result.truncated).toBe(false);
    expect(result.stdoutBytes).toBeLessThan(100 * MIB);
    // RSS growth generous bound: buffering 10 s of `yes` would be gigabytes.
    expect(peak - baseline).toBeLessThan(150 * MIB);
  }, 30_000);
});
