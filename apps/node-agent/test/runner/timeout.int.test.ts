// Timeouts and cancel: SIGTERM to the whole tree first, SIGKILL after the grace, and nothing of the
// exec survives — verified through the cgroup and by scanning the host's /proc for the sandbox uid.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesOfUid, run, setupTestHost, waitZombiesReaped, type TestHost } from './helpers.ts';

let t: TestHost;
beforeAll(async () => {
  t = await setupTestHost();
});
afterAll(async () => {
  await t?.cleanup();
});

describe('timeout', () => {
  it('kills a tree that ignores SIGTERM: background children, a double-forked daemon, zombies', async () => {
    const r = await t.sandbox();
    const script = `
trap '' TERM
(trap '' TERM; sleep 1000) &
(trap '' TERM; setsid sh -c 'trap "" TERM; sleep 1000' &) &
sh -c 'sleep 0.1 & exec sleep 1000' &   # its child becomes a zombie nobody reaps… until init does
echo started
wait`;
    const exec = await r.exec(
      { argv: ['bash', '-c', script] },
      { timeoutMs: 1500, killGraceMs: 300 },
    );
    const chunks: string[] = [];
    for await (const c of exec) chunks.push(Buffer.from(c.data).toString());
    const result = await exec.result;
    expect(chunks.join('')).toBe('started\n');
    expect(result.timedOut).toBe(true);
    expect(result.canceled).toBe(false);
    expect(result.signal).toBe('SIGKILL');
    expect(await exec.pids()).toEqual([]);
    expect(processesOfUid(r.spec.uid)).toEqual([]);
    expect(await waitZombiesReaped(r.spec.uid)).toEqual([]);
  });

  it('delivers SIGTERM first: a command that handles it exits on its own terms', async () => {
    const r = await t.sandbox();
    const { result, stdout } = await run(
      r,
      ['bash', '-c', "trap 'echo got-term; exit 7' TERM; echo ready; sleep 1000 & wait"],
      {
        timeoutMs: 800,
        killGraceMs: 5000,
      },
    );
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBe(7);
    expect(stdout).toBe('ready\ngot-term\n');
    expect(processesOfUid(r.spec.uid)).toEqual([]);
  });
});

describe('cancel', () => {
  it('cancels through an AbortSignal and reports canceled', async () => {
    const r = await t.sandbox();
    const ac = new AbortController();
    const exec = await r.exec(
      { argv: ['sh', '-c', 'echo go; sleep 1000'] },
      { signal: ac.signal, killGraceMs: 200 },
    );
    for await (const c of exec) {
      if (Buffer.from(c.data).toString().includes('go')) ac.abort();
    }
    const result = await exec.result;
    expect(result.canceled).toBe(true);
    expect(result.timedOut).toBe(false);
    expect(result.exitCode === 0).toBe(false);
    expect(processesOfUid(r.spec.uid)).toEqual([]);
  });
});

describe('normal exit', () => {
  it('leaves nothing behind: a daemon started by a command that exited is killed', async () => {
    const r = await t.sandbox();
    const { result, stdout } = await run(r, [
      'sh',
      '-c',
      'setsid sh -c \'trap "" TERM HUP; sleep 1000\' >/dev/null 2>&1 & echo parent-done',
    ]);
    expect(result.exitCode).toBe(0);
    expect(stdout).toBe('parent-done\n');
    expect(processesOfUid(r.spec.uid)).toEqual([]);
  });

  it('reports exit codes and signals', async () => {
    const r = await t.sandbox();
    expect((await run(r, ['sh', '-c', 'exit 42'])).result).toMatchObject({
      exitCode: 42,
      signal: null,
      timedOut: false,
      oomKilled: false,
    });
    expect((await run(r, ['sh', '-c', 'kill -TERM $$'])).result).toMatchObject({
      exitCode: null,
      signal: 'SIGTERM',
    });
    const missing = await run(r, ['no-such-command-xyz']);
    expect(missing.result.exitCode).not.toBe(0);
    expect(missing.stderr).toContain('no-such-command-xyz');
  });

  it('closing the sandbox kills running execs', async () => {
    const r = await t.sandbox();
    const exec = await r.exec({ argv: ['sleep', '1000'] });
    const drained = exec.drain();
    await r.close();
    await drained;
    const result = await exec.result;
    expect(result.signal).toBe('SIGKILL');
    expect(processesOfUid(r.spec.uid)).toEqual([]);
  });
});
