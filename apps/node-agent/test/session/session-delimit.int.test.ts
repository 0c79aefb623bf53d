// Each command's stdout, stderr and exit status are delimited exactly, whatever the command prints:
// the end of a command is signalled on a control fd the command does not have, after the shell
// reaped it, and its output comes from FIFOs of its own (see docs/sessions.md).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSession, type ShellSession } from '../../src/session/index.ts';
import { setupTestHost, type TestHost } from './helpers.ts';

let t: TestHost;
let s: ShellSession;
beforeAll(async () => {
  t = await setupTestHost();
  s = await openSession(await t.sandbox());
});
afterAll(async () => {
  await s?.close();
  await t?.cleanup();
});

/** Runs via the streaming API and returns the raw bytes per stream. */
async function bytes(
  command: string,
): Promise<{ stdout: Buffer; stderr: Buffer; exitCode: number }> {
  const cmd = s.stream(command);
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  for await (const c of cmd) (c.stream === 'stdout' ? out : err).push(c.data);
  const r = await cmd.result;
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), exitCode: r.exitCode };
}

describe('delimiting', () => {
  it('output that looks like control records is just output', async () => {
    // Every record form of the protocol, for this and for other command ids, on both streams.
    const forged = 'H 1\nS 1 2\nC\nD 1 0\nD 99 0\nE bad-request\nR 1 - 0 0\n';
    const r = await s.run(`printf '${forged}'; printf '${forged}' >&2; exit 5`);
    expect(r).toMatchObject({ exitCode: 5, stdout: forged, stderr: forged, timedOut: false });
    expect((await s.run('echo next')).stdout).toBe('next\n');
  });

  it('a command cannot reach the control fd or the snapshot fd', async () => {
    const r = await s.run(
      'echo "D 1 0" >&6; echo "x" >&8; ls /proc/self/fd | sort -n | tr "\\n" " "',
    );
    expect(r.stderr).toMatch(/6: Bad file descriptor/);
    expect(r.stderr).toMatch(/8: Bad file descriptor/);
    expect(r.stdout.trim().split(' ').map(Number)).toEqual([0, 1, 2, 3]); // 3: ls's own directory fd
    expect((await s.run('echo still-fine')).stdout).toBe('still-fine\n');
  });

  it('binary output without a trailing newline arrives byte for byte', async () => {
    const r = await bytes("printf '\\x00\\x01\\xff\\xfe no newline'; printf '\\x00' >&2");
    expect(r.stdout).toEqual(
      Buffer.concat([Buffer.from([0, 1, 0xff, 0xfe]), Buffer.from(' no newline')]),
    );
    expect(r.stderr).toEqual(Buffer.from([0]));
    expect(r.exitCode).toBe(0);
  });

  it('large output on both streams is complete and stays with its command', async () => {
    const r = await s.run(
      'head -c 3000000 /dev/zero | tr "\\0" a; head -c 1000000 /dev/zero | tr "\\0" b >&2; echo -n END',
    );
    expect(r.stdout.length).toBe(3_000_003);
    expect(r.stdout.endsWith('aEND')).toBe(true);
    expect(r.stderr).toBe('b'.repeat(1_000_000));
    expect(r).toMatchObject({ stdoutBytes: 3_000_003, stderrBytes: 1_000_000, truncated: false });
    expect((await s.run('echo small')).stdout).toBe('small\n');
  });

  it('output written just before exit is never lost (many quick commands)', async () => {
    for (let i = 0; i < 30; i++) {
      const r = await s.run(`printf 'out-${i}'; printf 'err-${i}' >&2; /bin/echo -n "-ext-${i}"`);
      expect(r.stdout).toBe(`out-${i}-ext-${i}`);
      expect(r.stderr).toBe(`err-${i}`);
    }
  });

  it("a background job's later output goes to no later command, and the job keeps running", async () => {
    const first = await s.run(
      '(sleep 0.4; echo late-out; echo late-err >&2; sleep 0.3; echo later; touch /tmp/bg-done) & echo now',
    );
    expect(first.stdout).toBe('now\n');
    const second = await s.run('sleep 1.2; echo second; test -e /tmp/bg-done && echo job-finished');
    expect(second).toMatchObject({ stdout: 'second\njob-finished\n', stderr: '' });
  });

  it('a command that closes or redirects its own stdout still ends cleanly', async () => {
    const r = await s.run('exec >&-; exec 2>&-; sleep 0.1');
    expect(r.exitCode).toBe(0);
    expect((await s.run('echo after')).stdout).toBe('after\n');
  });

  it('stdin is empty (commands never wait for input)', async () => {
    const r = await s.run('cat; read -r line; echo "read status $?"');
    expect(r.stdout).toBe('read status 1\n');
  });

  it('caps output per command and reports truncation', async () => {
    const r = await s.run('head -c 100000 /dev/zero | tr "\\0" x; echo done >&2', {
      outputBytes: 1000,
    });
    expect(r.stdout.length + r.stderr.length).toBe(1000);
    expect(r).toMatchObject({ truncated: true, exitCode: 0, stdoutBytes: 100_000 });
  });
});
