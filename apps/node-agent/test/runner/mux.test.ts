// OutputMux with in-memory streams: order, cap, and pausing the producer (backpressure).
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { OutputMux, type OutputChunk } from '../../src/output/mux.ts';

const text = (chunks: OutputChunk[], s: string): string =>
  chunks
    .filter((c) => c.stream === s)
    .map((c) => Buffer.from(c.data).toString())
    .join('');

describe('OutputMux', () => {
  it('numbers chunks in arrival order across both streams', async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const mux = new OutputMux({ stdout, stderr });
    stdout.write('a');
    await sleep(1);
    stderr.write('b');
    await sleep(1);
    stdout.end('c');
    stderr.end();
    const chunks: OutputChunk[] = [];
    for await (const c of mux) chunks.push(c);
    expect(chunks.map((c) => [c.seq, c.stream, Buffer.from(c.data).toString()])).toEqual([
      [0, 'stdout', 'a'],
      [1, 'stderr', 'b'],
      [2, 'stdout', 'c'],
    ]);
    expect(mux.counts).toEqual({ stdoutBytes: 2, stderrBytes: 1, truncated: false });
  });

  it('delivers exactly the cap, counts the rest, sets truncated', async () => {
    const stdout = new PassThrough();
    const mux = new OutputMux({ stdout, stderr: null }, { capBytes: 10 });
    stdout.write('0123456');
    stdout.write('789abc');
    stdout.end('def');
    const chunks: OutputChunk[] = [];
    for await (const c of mux) chunks.push(c);
    expect(text(chunks, 'stdout')).toBe('0123456789');
    expect(mux.counts).toEqual({ stdoutBytes: 16, stderrBytes: 0, truncated: true });
  });

  it('pauses the sources above the high-water mark and resumes when drained', async () => {
    const stdout = new PassThrough();
    const mux = new OutputMux({ stdout, stderr: null }, { highWaterBytes: 100 });
    const big = Buffer.alloc(60, 1);
    stdout.write(big);
    stdout.write(big);
    await sleep(5);
    expect(stdout.isPaused()).toBe(true);
    expect(mux.queuedBytes).toBe(120);
    // More output stays in the source (where a pipe would block the writer), not in the mux.
    for (let i = 0; i < 10; i++) stdout.write(big);
    await sleep(5);
    expect(mux.queuedBytes).toBe(120);
    const it = mux[Symbol.asyncIterator]();
    await it.next();
    await it.next();
    expect(stdout.isPaused()).toBe(false);
    stdout.end();
    let n = 2;
    for (let r = await it.next(); !r.done; r = await it.next()) n++;
    expect(n).toBeGreaterThan(2);
  });

  it('can be iterated only once', async () => {
    const stdout = new PassThrough();
    const mux = new OutputMux({ stdout, stderr: null });
    stdout.end();
    await mux.drain();
    await expect(mux.drain()).rejects.toThrow(/once/);
  });
});
