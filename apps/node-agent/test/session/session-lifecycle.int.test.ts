// Per-command timeouts and cancel (only the command's process group dies; the session and its
// state stay), idle timeout, explicit close (nothing of the session survives), PTY mode.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSession, SessionError } from '../../src/session/index.ts';
import { liveProcessesOfUid, processesOfUid, setupTestHost, type TestHost } from './helpers.ts';

let t: TestHost;
beforeAll(async () => {
  t = await setupTestHost();
});
afterAll(async () => {
  await t?.cleanup();
});

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('per-command timeout', () => {
  it('kills only the command (with its children); the session keeps cwd, env and older background jobs', async () => {
    const sb = await t.sandbox();
    await using s = await openSession(sb, { killGraceMs: 300 });
    const bg = await s.run('cd /tmp && export KEEP=yes && sleep 300 & echo $!');
    const bgPid = bg.stdout.trim();
    await s.run('cd /tmp; export KEEP=yes');

    const r = await s.run('cd /; export KEEP=no; (sleep 100; echo never) & sleep 100', {
      timeoutMs: 400,
    });
    expect(r).toMatchObject({ timedOut: true, canceled: false, exitCode: 128 + 15, stdout: '' });

    const after = await s.run(
      `pwd; echo "$KEEP"; kill -0 ${bgPid} && echo bg-alive; pgrep -c -x sleep`,
    );
    expect(after.stdout).toBe('/tmp\nyes\nbg-alive\n1\n');
  });

  it('SIGKILLs a command that ignores SIGTERM, and interrupts a builtin-only loop', async () => {
    const sb = await t.sandbox();
    await using s = await openSession(sb, { killGraceMs: 200 });
    const stubborn = await s.run("trap '' TERM; (trap '' TERM; sleep 100) & while :; do :; done", {
      timeoutMs: 300,
    });
    expect(stubborn).toMatchObject({ timedOut: true, exitCode: 128 + 9 });
    const loop = await s.run('x=1; while :; do :; done', { timeoutMs: 300 });
    expect(loop.timedOut).toBe(true);
    const after = await s.run('echo "alive [${x-}]"; pgrep -c -x sleep || true');
    expect(after.stdout).toBe('alive []\n0\n');
  });

  it('cancel via AbortSignal ends the command and reports `canceled`', async () => {
    const sb = await t.sandbox();
    await using s = await openSession(sb, { killGraceMs: 200 });
    const ac = new AbortController();
    const running = s.run('echo started; sleep 100', { signal: ac.signal });
    await sleep(300);
    ac.abort();
    const r = await running;
    expect(r).toMatchObject({ canceled: true, timedOut: false, stdout: 'started\n' });
    expect((await s.run('echo ok')).stdout).toBe('ok\n');
  });

  it('uses commandTimeoutMs as the default', async () => {
    const sb = await t.sandbox();
    await using s = await openSession(sb, { commandTimeoutMs: 300, killGraceMs: 100 });
    expect((await s.run('sleep 100')).timedOut).toBe(true);
    expect((await s.run('sleep 100', { timeoutMs: 200 })).timedOut).toBe(true);
  });
});

describe('closing', () => {
  it('close() kills everything of the session, also daemons that left the process group', async () => {
    const sb = await t.sandbox();
    const s = await openSession(sb);
    await s.run(
      'sleep 1000 & setsid sleep 1001 & (trap "" TERM HUP; nohup sleep 1002 >/dev/null 2>&1 &) ; true',
    );
    await s.run('true');
    expect(processesOfUid(sb.spec.uid).length).toBeGreaterThan(4);
    await s.close();
    expect(processesOfUid(sb.spec.uid)).toEqual([]);
    await expect(s.run('true')).rejects.toMatchObject({ code: 'SESSION_CLOSED' });
    await s.close(); // idempotent
  });

  it('a command running at close() rejects with SESSION_CLOSED', async () => {
    const sb = await t.sandbox();
    const s = await openSession(sb);
    const running = s.run('sleep 100');
    const rejected = expect(running).rejects.toBeInstanceOf(SessionError);
    await sleep(200);
    await s.close();
    await rejected;
    expect(processesOfUid(sb.spec.uid)).toEqual([]);
  });

  it('the idle timeout closes an unused session, but not while a command runs', async () => {
    const sb = await t.sandbox();
    const s = await openSession(sb, { idleTimeoutMs: 400 });
    const long = await s.run('sleep 0.8; echo survived');
    expect(long.stdout).toBe('survived\n');
    await s.closed;
    expect(s.closeReason).toMatch(/idle/);
    expect(processesOfUid(sb.spec.uid)).toEqual([]);
    await expect(s.run('true')).rejects.toMatchObject({ code: 'SESSION_CLOSED' });
  });

  it('a session whose shell is killed from inside reports closed', async () => {
    const sb = await t.sandbox();
    const s = await openSession(sb);
    await expect(s.run('kill -9 -1')).rejects.toMatchObject({ code: 'SESSION_CLOSED' });
    await s.closed;
    expect(s.closeReason).toMatch(/exited/);
    expect(liveProcessesOfUid(sb.spec.uid)).toEqual([]);
  });
});

describe('PTY mode', () => {
  it('runs an interactive shell whose terminal size follows resize()', async () => {
    const sb = await t.sandbox();
    const s = await openSession(sb, { pty: { cols: 80, rows: 24 } });
    let out = '';
    s.onData((d) => {
      out += Buffer.from(d).toString('utf8');
    });
    s.write('stty size; echo "tty:$(test -t 0 && echo yes)"\r');
    await waitFor('stty output', () => out.includes('24 80') && out.includes('tty:yes'));
    s.resize(132, 40);
    s.write('stty size\r');
    await waitFor('resized stty output', () => out.includes('40 132'));
    // Ctrl-C interrupts the foreground program, the shell stays.
    s.write('sleep 100\r');
    await sleep(300);
    s.write('\x03');
    s.write('echo "after $?"\r');
    await waitFor('Ctrl-C', () => out.includes('after 130'));
    await s.close();
    expect(processesOfUid(sb.spec.uid)).toEqual([]);
    expect(() => s.write('x')).toThrow(
      expect.objectContaining({ code: 'SESSION_CLOSED' }) as Error,
    );
  });

  it('rejects a zero-sized terminal', async () => {
    const sb = await t.sandbox();
    await expect(openSession(sb, { pty: { cols: 0, rows: 24 } })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
  });
});
