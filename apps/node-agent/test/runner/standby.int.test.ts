// The standby wrapper (spawned ahead of time into the next exec's cgroup leaf, then handed the
// argv over a socket): the argv arrives intact, stdin is what the exec asked for, the control
// socket does not reach the sandbox, a discarded or closed standby leaves nothing behind.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBwrapArgs } from '../../src/runner/bwrap-args.ts';
import { DEFAULT_STANDBYS, type SandboxRunner } from '../../src/runner/runner.ts';
import { Standby, STANDBY_CONTROL_FD, standbyMessage } from '../../src/runner/standby.ts';
import { parentPid } from '../../src/runner/terminate.ts';
import { run, setupTestHost, zombiesOfUid, type TestHost } from './helpers.ts';

let t: TestHost;
let r: SandboxRunner;
beforeAll(async () => {
  t = await setupTestHost();
  r = await t.sandbox();
});
afterAll(async () => {
  await t.cleanup();
});

const PRINT_ARGS = ['bash', '-c', 'printf "%s\\0" "$@"', 'argv0'];
// Every ASCII byte but NUL (impossible in argv) and \x1f (left free as the delimiter), bash's
// internal quoting bytes (\x01, \x7f) included.
const ODD = [
  Array.from({ length: 0x7f }, (_, i) => String.fromCharCode(i + 1))
    .filter((c) => c !== '\x1f')
    .join(''),
  '',
  ' leading and trailing ',
  'quotes \' " ` $(echo no) ${HOME} \\',
  'é€😀',
  '',
];

async function readAll(s: NodeJS.ReadableStream | null | undefined): Promise<string> {
  let out = '';
  for await (const chunk of s ?? []) out += (chunk as Buffer).toString('utf8');
  return out;
}

/** Pids of processes in a leaf of the sandbox's cgroup (its standby wrapper when idle). */
function standbyPids(sandboxId: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cgroup`, 'utf8').includes(`/cordon/${sandboxId}/`))
        out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function message(argv: readonly string[], stdin: 'ignore' | 'pipe'): Buffer {
  const m = standbyMessage(argv, stdin);
  if (!m) throw new Error('argv not encodable');
  return m;
}

async function freshStandby(id: string): Promise<Standby> {
  const leaf = await r.cgroup.createExec(id);
  return Standby.spawn(id, leaf, r.spec, r.seccompProgram, t.host.layout);
}

describe('standby wrapper', () => {
  it('hands every argument over byte for byte', async () => {
    const s = await freshStandby('sb-argv');
    const argv = buildBwrapArgs(r.spec, { argv: [...PRINT_ARGS, ...ODD] }, t.host.layout);
    s.start(message(argv, 'ignore'), 'ignore');
    const [out, err] = await Promise.all([
      readAll(s.subprocess.stdout),
      readAll(s.subprocess.stderr),
    ]);
    const res = await s.subprocess;
    expect(err).toBe('');
    expect(res.exitCode).toBe(0);
    expect(out.split('\0').slice(0, -1)).toEqual(ODD);
    await s.leaf.remove();
  });

  it('gives the command /dev/null or the stdin pipe, and never the control socket', async () => {
    const list = 'readlink /proc/self/fd/0; ls /proc/self/fd | tr "\\n" " "';
    const a = await freshStandby('sb-ignore');
    a.start(message(buildBwrapArgs(r.spec, { argv: ['bash', '-c', list] }), 'ignore'), 'ignore');
    const outA = await readAll(a.subprocess.stdout);
    expect(outA.split('\n')[0]).toBe('/dev/null');
    // 0-2 and the directory ls reads; not the control fd (6) nor the payload fds.
    expect(outA.split('\n')[1]?.trim().split(' ').map(Number)).not.toContain(STANDBY_CONTROL_FD);
    expect(outA.split('\n')[1]?.trim().split(' ').length).toBeLessThanOrEqual(4);
    await a.subprocess;
    await a.leaf.remove();

    const b = await freshStandby('sb-pipe');
    b.start(message(buildBwrapArgs(r.spec, { argv: ['cat'] }), 'pipe'), 'pipe');
    b.subprocess.stdin?.end('through the pipe\n');
    expect(await readAll(b.subprocess.stdout)).toBe('through the pipe\n');
    await b.subprocess;
    await b.leaf.remove();
  });

  it('is in its cgroup leaf before the exec starts', async () => {
    const s = await freshStandby('sb-joined');
    const pid = s.subprocess.pid as number;
    const deadline = Date.now() + 10_000;
    // The subshell of the bash that is pid 1 of the new namespace (child of unshare, the spawned
    // pid); unshare and the bash stay in the agent's cgroup. It waits for its argv.
    while ((await s.leaf.pids()).length < 1 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    const pids = await s.leaf.pids();
    expect(pids).toHaveLength(1);
    const bash = await parentPid(pids[0] as number);
    expect(bash).not.toBeNull();
    expect(await parentPid(bash as number)).toBe(pid);
    await s.discard();
    expect(fs.existsSync(`/proc/${pid}/cmdline`) && (await s.leaf.pids()).length).toBeFalsy();
  });

  it('a discarded standby runs nothing and exits', async () => {
    const s = await freshStandby('sb-discard');
    s.subprocess.stdio[STANDBY_CONTROL_FD]?.destroy();
    const res = await s.subprocess;
    expect(res.exitCode).toBe(0);
    expect(await readAll(s.subprocess.stdout)).toBe('');
    expect(s.usable).toBe(false);
    await s.leaf.remove();
  });
});

describe('runner with a standby', () => {
  it('runs back-to-back execs through standbys and keeps DEFAULT_STANDBYS waiting', async () => {
    const sb = await t.sandbox();
    for (let i = 0; i < 5; i++) {
      const out = await run(sb, ['bash', '-c', 'echo $((6 * 7))']);
      expect(out.stdout).toBe('42\n');
    }
    // Per standby one process in a leaf: the subshell waiting for its argv (once it has joined).
    const deadline = Date.now() + 10_000;
    while (standbyPids(sb.spec.sandboxId).length < DEFAULT_STANDBYS && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(standbyPids(sb.spec.sandboxId)).toHaveLength(DEFAULT_STANDBYS);
    await sb.close();
    expect(standbyPids(sb.spec.sandboxId)).toEqual([]);
    expect(fs.existsSync(`/sys/fs/cgroup/pids/cordon/${sb.spec.sandboxId}`)).toBe(false);
  });

  it('keeps the configured number of standbys and serves back-to-back execs from them', async () => {
    const { SandboxRunner } = await import('../../src/runner/runner.ts');
    const sb = await SandboxRunner.open(
      { ...r.spec, sandboxId: `${r.spec.sandboxId}-two` },
      t.ctx,
      { standbys: 3 },
    );
    try {
      const deadline = Date.now() + 10_000;
      while (standbyPids(sb.spec.sandboxId).length < 3 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(standbyPids(sb.spec.sandboxId)).toHaveLength(3);
      const outs = [];
      for (let i = 0; i < 4; i++) outs.push((await run(sb, ['echo', String(i)])).stdout);
      expect(outs).toEqual(['0\n', '1\n', '2\n', '3\n']);
      await expect(
        SandboxRunner.open({ ...r.spec, sandboxId: 'x' }, t.ctx, { standbys: -1 }),
      ).rejects.toMatchObject({ code: 'INVALID_SPEC' });
    } finally {
      await sb.close();
    }
    expect(standbyPids(sb.spec.sandboxId)).toEqual([]);
  });

  it('leaves no zombie for the host init: bwrap runs as init of its own pid namespace', async () => {
    const sb = await t.sandbox();
    for (let i = 0; i < 5; i++) {
      const out = await run(sb, ['bash', '-c', 'sleep 30 & disown; echo $$']);
      expect(out.result.exitCode).toBe(0);
      // At the result, not eventually: nothing of the exec is waiting to be reaped by anyone.
      expect(zombiesOfUid(sb.spec.uid)).toEqual([]);
    }
  });

  it('falls back to a fresh wrapper when no delimiter is free', async () => {
    const every = Array.from({ length: 0x1f }, (_, i) => String.fromCharCode(i + 1)).join('');
    const out = await run(r, [...PRINT_ARGS, every]);
    expect(out.result.exitCode).toBe(0);
    expect(out.stdout).toBe(`${every}\0`);
  });

  it('without standbys, execs still work (standbys: 0)', async () => {
    const { SandboxRunner } = await import('../../src/runner/runner.ts');
    const sb = await SandboxRunner.open(
      { ...r.spec, sandboxId: `${r.spec.sandboxId}-cold` },
      t.ctx,
      {
        standbys: 0,
      },
    );
    try {
      expect(standbyPids(sb.spec.sandboxId)).toEqual([]);
      const out = await run(sb, ['echo', 'cold']);
      expect(out.stdout).toBe('cold\n');
    } finally {
      await sb.close();
    }
  });
});
