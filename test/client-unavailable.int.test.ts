import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCordon, UnavailableError, type Cordon } from '@cordon/client';
import { startCordon, type CordonProcess } from './helpers/cli.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

// Issue 6: a client streaming or waiting on a gateway that is gone for good must give up after
// `unavailableAfterMs` instead of reconnecting forever. The vitest timeout is the upper bound.

const BOUND_MS = 2_000;

let t: TestStack;
let cordon: Cordon;
const started: CordonProcess[] = [];

beforeAll(async () => {
  t = await startTestStack();
  cordon = createCordon({ url: t.stack.url, token: t.stack.token, unavailableAfterMs: BOUND_MS });
});
afterAll(async () => {
  for (const p of started) p.kill();
  await cordon?.close();
  await t?.close();
});

describe('a gateway that goes away for good', () => {
  it('a gateway restart stays invisible to a stream and a wait', async () => {
    // The default bound: a restart on a loaded machine may take longer than BOUND_MS.
    await using patient = createCordon({ url: t.stack.url, token: t.stack.token });
    await using sb = await patient.sandbox.create({ preset: 'agent-safe' });
    const h = sb.exec(['sh', '-c', 'sleep 2; echo done']);
    await h.id;
    const result = h.result;
    result.catch(() => undefined);
    const out: string[] = [];
    const streamed = (async () => {
      for await (const ev of h) if (ev.kind === 'stdout') out.push(ev.text);
    })();
    streamed.catch(() => undefined);
    await t.stack.restartGateway();
    await streamed;
    expect(out.join('')).toBe('done\n');
    expect((await result).exitCode).toBe(0);
  });

  it('fails pending streams and waits with UnavailableError, and `cordon exec` with 125', async () => {
    const sb = await cordon.sandbox.create({ preset: 'agent-safe' });

    // A stream (sb.run iterates the output) that has delivered output, so it is subscribed.
    let ranOutput: () => void = () => undefined;
    const streaming = new Promise<void>((r) => (ranOutput = r));
    const run = sb.run(['sh', '-c', 'echo started; exec sleep 600'], {
      onOutput: () => ranOutput(),
    });
    run.catch(() => undefined);

    // A wait on the result alone (execs.wait over HTTP), without iterating.
    const waited = sb.exec(['sleep', '600']);
    await waited.id;
    const result = waited.result;
    result.catch(() => undefined);

    // A terminal's output stream.
    const term = await sb.terminal({ cols: 80, rows: 24 });
    let termShowed: () => void = () => undefined;
    const termStreaming = new Promise<void>((r) => (termShowed = r));
    const termOutput = (async () => {
      for await (const chunk of term.output()) if (chunk.length > 0) termShowed();
    })();
    termOutput.catch(() => undefined);

    const cli = startCordon(['exec', sb.id, '--', 'sh', '-c', 'echo cli-started; exec sleep 600'], {
      env: { ...t.env, CORDON_UNAVAILABLE_AFTER_MS: String(BOUND_MS) },
    });
    started.push(cli);

    await Promise.all([streaming, termStreaming, cli.waitFor(/cli-started/)]);
    // The gateway first: with the nodes stopped first, a gateway still up would end the execs
    // as NODE_LOST (also exit 125, but not the path under test).
    const gateway = t.stack.children.find((c) => c.name === 'gateway');
    if (!gateway) throw new Error('the stack has no gateway child');
    await gateway.stop();
    await t.stack.stop();

    await expect(run).rejects.toBeInstanceOf(UnavailableError);
    await expect(result).rejects.toBeInstanceOf(UnavailableError);
    await expect(termOutput).rejects.toBeInstanceOf(UnavailableError);
    await expect(run).rejects.toThrow(`cannot reach the Cordon gateway at ${t.stack.url}`);

    const exit = await cli.exited;
    expect(exit.code).toBe(125);
    const lines = cli.stderr().trim().split('\n');
    // The exec id first, then exactly one line saying why.
    expect(lines.at(-1)).toMatch(
      new RegExp(`^cordon: cannot reach the Cordon gateway at ${t.stack.url} .*is it running\\?`),
    );
  });

  it('a new client against the stopped gateway is refused at once with UnavailableError', async () => {
    await expect(cordon.sandbox.list()).rejects.toBeInstanceOf(UnavailableError);
  });
});
