// Lambda-style handlers in both languages: results, printed output kept apart from the result,
// exceptions as structured errors, async handlers, non-JSON results, syntax errors, missing
// handler, timeouts, runtime exits — all against the real sandbox.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHandler } from '../../src/handler/index.ts';
import {
  liveProcessesOfUid,
  setupTestHost,
  type TestHost,
  type TestSandbox,
} from '../session/helpers.ts';

let t: TestHost;
let sb: TestSandbox;
beforeAll(async () => {
  t = await setupTestHost();
  sb = await t.sandbox();
});
afterAll(async () => {
  await t?.cleanup();
});

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

const FORGED = '{"ok":true,"result":"forged"}';

describe('python handlers', () => {
  it('returns the result and captures stdout/stderr separately from it', async () => {
    const code = `import sys\ndef handler(event):\n    print(${JSON.stringify(FORGED)})\n    print("to stderr", file=sys.stderr)\n    return {"sum": event["a"] + event["b"], "echo": event}\n`;
    const r = await runHandler(sb, { language: 'python', code, event: { a: 2, b: 3, s: 'ü' } });
    expect(r.error).toBeNull();
    expect(r.result).toEqual({ sum: 5, echo: { a: 2, b: 3, s: 'ü' } });
    expect(r.stdout).toBe(`${FORGED}\n`);
    expect(r.stderr).toBe('to stderr\n');
  });

  it('supports async def handlers and a null event', async () => {
    const code =
      'import asyncio\nasync def handler(event):\n    await asyncio.sleep(0.01)\n    return ["async", event]\n';
    const r = await runHandler(sb, { language: 'python', code });
    expect(r).toMatchObject({ error: null, result: ['async', null] });
  });

  it('reports an exception as a structured error with the user stack only', async () => {
    const code =
      'def helper(x):\n    raise ValueError(f"bad input {x}")\n\ndef handler(event):\n    print("before")\n    helper(event)\n';
    const r = await runHandler(sb, { language: 'python', code, event: 7 });
    expect(r.result).toBeNull();
    expect(r.stdout).toBe('before\n');
    expect(r.error).toMatchObject({ type: 'ValueError', message: 'bad input 7' });
    expect(r.error?.stack).toMatch(/handler\.py", line 2, in helper/);
    expect(r.error?.stack).not.toMatch(/harness/);
  });

  it('rejects a non-JSON result, a syntax error, a missing handler and sys.exit clearly', async () => {
    const cases: [string, string][] = [
      ['def handler(event):\n    return {1, 2}\n', 'ResultNotSerializable'],
      ['def handler(event):\n    return float("nan")\n', 'ResultNotSerializable'],
      ['def handler(event:\n    pass\n', 'SyntaxError'],
      ['x = 1\n', 'HandlerNotFound'],
      ['handler = 3\n', 'HandlerNotFound'],
      ['import sys\ndef handler(event):\n    sys.exit(4)\n', 'SystemExit'],
      ['import os\ndef handler(event):\n    os._exit(9)\n', 'RuntimeExited'],
    ];
    for (const [code, type] of cases) {
      const r = await runHandler(sb, { language: 'python', code });
      expect(r.error?.type, code).toBe(type);
      expect(r.result).toBeNull();
    }
  });

  it('a subprocess of the handler cannot write to the result channel', async () => {
    const code =
      'import subprocess\ndef handler(event):\n    subprocess.run(["sh", "-c", "echo forged >&6"])\n    return "real"\n';
    const r = await runHandler(sb, { language: 'python', code });
    expect(r).toMatchObject({ error: null, result: 'real' });
    expect(r.stderr).toMatch(/Bad file descriptor/);
  });
});

describe('javascript handlers', () => {
  it('runs ESM `export function handler` and keeps printed output apart from the result', async () => {
    const code = `export function handler(event) { console.log(${JSON.stringify(FORGED)}); console.error('err'); return { n: event.n * 2 }; }`;
    const r = await runHandler(sb, { language: 'javascript', code, event: { n: 21 } });
    expect(r).toMatchObject({
      error: null,
      result: { n: 42 },
      stdout: `${FORGED}\n`,
      stderr: 'err\n',
    });
  });

  it('runs CommonJS `module.exports.handler`, async', async () => {
    const code =
      'const os = require("node:os");\nmodule.exports.handler = async (e) => { await new Promise((r) => setTimeout(r, 10)); return [os.hostname(), e]; };\n';
    const r = await runHandler(sb, { language: 'javascript', code, event: 'x' });
    expect(r).toMatchObject({ error: null, result: ['cordon', 'x'] });
  });

  it('returns null for undefined, and does not wait for timers the handler left running', async () => {
    const code = 'export function handler() { setInterval(() => {}, 1000); }';
    const r = await runHandler(sb, { language: 'javascript', code, timeoutMs: 10_000 });
    expect(r).toMatchObject({ error: null, result: null });
    expect(r.durationMs).toBeLessThan(10_000);
  });

  it('reports exceptions, rejections and thrown non-Errors as structured errors', async () => {
    const thrown = await runHandler(sb, {
      language: 'javascript',
      code: 'export function handler() { throw new RangeError("out of range"); }',
    });
    expect(thrown.error).toMatchObject({ type: 'RangeError', message: 'out of range' });
    expect(thrown.error?.stack).toMatch(/handler\.js:1/);
    expect(thrown.error?.stack).not.toMatch(/harness/);
    const rejected = await runHandler(sb, {
      language: 'javascript',
      code: 'export async function handler() { await null; throw new TypeError("nope"); }',
    });
    expect(rejected.error).toMatchObject({ type: 'TypeError', message: 'nope' });
    const str = await runHandler(sb, {
      language: 'javascript',
      code: 'export function handler() { throw "plain string"; }',
    });
    expect(str.error).toMatchObject({ type: 'NonErrorThrown' });
    expect(str.error?.message).toMatch(/plain string/);
  });

  it('rejects non-JSON results, syntax errors and a missing handler clearly', async () => {
    const cases: [string, string][] = [
      ['export function handler() { return 10n; }', 'ResultNotSerializable'],
      ['export function handler() { const a = {}; a.a = a; return a; }', 'ResultNotSerializable'],
      ['export function handler() { return () => 1; }', 'ResultNotSerializable'],
      ['export function handler( {', 'SyntaxError'],
      ['export const notAHandler = 1;', 'HandlerNotFound'],
      ['module.exports = { other() {} };', 'HandlerNotFound'],
      ['export function handler() { process.exit(3); }', 'RuntimeExited'],
    ];
    for (const [code, type] of cases) {
      const r = await runHandler(sb, { language: 'javascript', code });
      expect(r.error?.type, code).toBe(type);
    }
  });
});

describe('limits', () => {
  it('times out a handler that never returns, and nothing of it survives', async () => {
    const py = await runHandler(
      sb,
      {
        language: 'python',
        code: 'import time\ndef handler(e):\n    print("working", flush=True)\n    time.sleep(100)\n',
        timeoutMs: 1500,
      },
      { killGraceMs: 200 },
    );
    expect(py.error).toMatchObject({ type: 'Timeout' });
    expect(py.stdout).toBe('working\n');
    const js = await runHandler(
      sb,
      {
        language: 'javascript',
        code: 'export function handler() { for (;;) {} }',
        timeoutMs: 1500,
      },
      { killGraceMs: 200 },
    );
    expect(js.error).toMatchObject({ type: 'Timeout' });
    expect(liveProcessesOfUid(sb.spec.uid)).toEqual([]);
  });

  it('cancels a running handler: its process tree is killed and the error is Canceled', async () => {
    // The handler starts a child that would outlive it; cancel must take the whole tree.
    const code =
      'import subprocess, time\ndef handler(e):\n    subprocess.Popen(["sleep", "300"])\n    print("started", flush=True)\n    time.sleep(300)\n';
    const ac = new AbortController();
    const running = runHandler(
      sb,
      { language: 'python', code, timeoutMs: 60_000 },
      { killGraceMs: 200, signal: ac.signal },
    );
    await expect
      .poll(() => liveProcessesOfUid(sb.spec.uid).some((pid) => commOf(pid) === 'sleep'), {
        timeout: 10_000,
      })
      .toBe(true);
    ac.abort();
    const r = await running;
    expect(r.error).toMatchObject({ type: 'Canceled' });
    expect(r.result).toBeNull();
    expect(r.stdout).toBe('started\n');
    expect(liveProcessesOfUid(sb.spec.uid)).toEqual([]);
    const pre = await runHandler(
      sb,
      { language: 'python', code: 'def handler(e):\n    return 1\n' },
      { signal: AbortSignal.abort() },
    );
    expect(pre.error).toMatchObject({ type: 'Canceled' });
  });

  it('rejects a result larger than maxResultBytes', async () => {
    const r = await runHandler(
      sb,
      { language: 'python', code: 'def handler(e):\n    return "x" * 100000\n' },
      { maxResultBytes: 1000 },
    );
    expect(r.error).toMatchObject({ type: 'ResultTooLarge' });
  });

  it('rejects an invalid request before running anything', async () => {
    await expect(runHandler(sb, { language: 'ruby' as 'python', code: '' })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    await expect(
      runHandler(sb, { language: 'python', code: '', event: 10n }),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });
});
