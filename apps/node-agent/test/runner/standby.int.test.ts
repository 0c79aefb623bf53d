// Standbys (spawned ahead of time into the next exec's cgroup leaf and set up inside bwrap, then
// handed the exec on stdin): argv, environment and cwd arrive intact, stdin is what the exec asked
// for, a discarded or closed standby leaves nothing behind, a remount discards them.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeEnv, WORKSPACE } from '../../src/runner/bwrap-args.ts';
import { DEFAULT_STANDBYS, type SandboxRunner } from '../../src/runner/runner.ts';
import { WRAPPER_SHELL } from '../../src/runner/spawn.ts';
import {
  PRIMED_STUB,
  Standby,
  standbyMessage,
  standbySpawnRequest,
} from '../../src/runner/standby.ts';
import { parentPid } from '../../src/runner/terminate.ts';
import {
  run,
  setupTestHost,
  standbyProcessesOfUid,
  zombiesOfUid,
  type TestHost,
} from './helpers.ts';

let t: TestHost;
let r: SandboxRunner;
beforeAll(async () => {
  t = await setupTestHost();
  r = await t.sandbox();
  fs.mkdirSync(`${r.spec.workspaceDir}/sub`, { recursive: true });
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

/** Stubs waiting in leaves of the sandbox's cgroup: one per ready standby. */
function standbyPids(sandboxId: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (
        fs.readFileSync(`/proc/${name}/cgroup`, 'utf8').includes(`/cordon/${sandboxId}/`) &&
        cmdline(Number(name)).includes(PRIMED_STUB) &&
        cmdline(Number(name)).startsWith(`${WRAPPER_SHELL}\0`)
      )
        out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function message(argv: readonly string[], stdin: 'ignore' | 'pipe', cwd = WORKSPACE): Buffer {
  const m = standbyMessage({ argv, cwd, env: mergeEnv(r.spec, {}) }, stdin);
  if (!m) throw new Error('exec not encodable');
  return m;
}

async function freshStandby(id: string): Promise<Standby> {
  const leaf = await r.cgroup.createExec(id);
  const request = standbySpawnRequest(r.spec, r.seccompProgram, t.host.layout, leaf.procsFiles);
  return Standby.spawn(t.ctx.spawner, id, leaf, request);
}

async function runStandby(
  id: string,
  argv: readonly string[],
  cwd = WORKSPACE,
): Promise<{ out: string; err: string; code: number | undefined }> {
  const s = await freshStandby(id);
  s.start(message(argv, 'ignore', cwd), 'ignore');
  const [out, err] = await Promise.all([readAll(s.process.stdout), readAll(s.process.stderr)]);
  const res = await s.process.exited;
  await s.leaf.remove();
  return { out, err, code: res.code ?? undefined };
}

function cmdline(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
}

describe('standby', () => {
  it('hands every argument over byte for byte', async () => {
    const { out, err, code } = await runStandby('sb-argv', [...PRINT_ARGS, ...ODD]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out.split('\0').slice(0, -1)).toEqual(ODD);
  });

  it('gives the command exactly its environment (no SHLVL, OLDPWD or _) and its cwd', async () => {
    const { out, code } = await runStandby('sb-env', ['/usr/bin/env', '-0'], '/workspace/sub');
    expect(code).toBe(0);
    const env = Object.fromEntries(
      out
        .split('\0')
        .slice(0, -1)
        .map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
    );
    // PWD as bwrap's --chdir sets it.
    expect(env).toEqual({ ...mergeEnv(r.spec, {}), PWD: '/workspace/sub' });
    expect((await runStandby('sb-pwd', ['pwd', '-P'], '/workspace/sub')).out).toBe(
      '/workspace/sub\n',
    );
  });

  it('a missing cwd fails with status 1 and names it; a missing command gives 127', async () => {
    const cwd = await runStandby('sb-nocwd', ['true'], '/workspace/nope');
    expect(cwd.code).toBe(1);
    expect(cwd.err).toMatch(/\/workspace\/nope: No such file or directory/);
    const cmd = await runStandby('sb-nocmd', ['no-such-command-here']);
    expect(cmd.code).toBe(127);
    expect(cmd.err).toMatch(/no-such-command-here: not found/);
  });

  it('gives the command /dev/null or the stdin pipe, and no descriptor of its own', async () => {
    const list = 'readlink /proc/self/fd/0; ls /proc/self/fd | tr "\\n" " "';
    const a = await runStandby('sb-ignore', ['bash', '-c', list]);
    expect(a.out.split('\n')[0]).toBe('/dev/null');
    // 0-2 and the directory ls reads.
    expect(a.out.split('\n')[1]?.trim().split(' ')).toEqual(['0', '1', '2', '3']);

    const b = await freshStandby('sb-pipe');
    b.start(message(['cat'], 'pipe'), 'pipe');
    b.process.stdin?.end('through the pipe\n');
    expect(await readAll(b.process.stdout)).toBe('through the pipe\n');
    await b.process.exited;
    await b.leaf.remove();
  });

  it('is in its cgroup leaf, inside bwrap, as the sandbox uid, before the exec exists', async () => {
    const s = await freshStandby('sb-joined');
    const pid = s.process.pid as number;
    const deadline = Date.now() + 10_000;
    const stub = async () =>
      (await s.leaf.pids()).find((p) => cmdline(p).startsWith(`${WRAPPER_SHELL}\0`));
    while ((await stub()) === undefined && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    // bwrap's monitor and init, and the stub waiting for its exec; nothing else.
    const pids = await s.leaf.pids();
    expect(pids).toHaveLength(3);
    const stubPid = (await stub()) as number;
    expect(cmdline(stubPid)).toContain(PRIMED_STUB);
    expect(fs.readFileSync(`/proc/${stubPid}/status`, 'utf8')).toMatch(
      new RegExp(`^Uid:\\s+${r.spec.uid}\\s`, 'm'),
    );
    // stub → bwrap init → bwrap monitor → the bash that is pid 1 → unshare (the spawned pid).
    const init = (await parentPid(stubPid)) as number;
    const monitor = (await parentPid(init)) as number;
    const bash = (await parentPid(monitor)) as number;
    expect(cmdline(init)).toMatch(/bwrap/);
    expect(cmdline(monitor)).toMatch(/bwrap/);
    expect(await parentPid(bash)).toBe(pid);
    await s.discard();
    expect(fs.existsSync(`/proc/${pid}/cmdline`) && (await s.leaf.pids()).length).toBeFalsy();
  });

  it('a discarded standby runs nothing and exits', async () => {
    const s = await freshStandby('sb-discard');
    s.process.stdin?.destroy();
    const res = await s.process.exited;
    expect(res.code).toBe(0);
    expect(await readAll(s.process.stdout)).toBe('');
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
    // Per standby one stub in a leaf, waiting for its exec (once bwrap has set up).
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

  it("reuses finished execs' cgroup leaves, all inside the sandbox's cgroup", async () => {
    const sb = await t.sandbox();
    const leaves: string[] = [];
    for (let i = 0; i < 10; i++) {
      // Seen from the host (inside, the cgroup namespace shows '/').
      const running = await sb.exec({ argv: ['sleep', '0.2'] });
      // A standby taken right after it was made may still be joining its leaf.
      let [pid] = await running.pids();
      for (let j = 0; j < 100 && pid === undefined; j++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        [pid] = await running.pids();
      }
      const line = fs
        .readFileSync(`/proc/${pid}/cgroup`, 'utf8')
        .split('\n')
        .find((l) => /:pids:/.test(l));
      leaves.push(line?.slice(line.indexOf(':pids:') + ':pids:'.length) ?? '');
      expect((await running.result).exitCode).toBe(0);
    }
    for (const leaf of leaves)
      expect(leaf).toMatch(new RegExp(`^/cordon/${sb.spec.sandboxId}/[^/]+$`));
    // Ten execs in fewer leaves: a leaf is made (mkdir ×3) and removed once, not per exec.
    expect(new Set(leaves).size).toBeLessThan(leaves.length);
    await sb.close();
    expect(fs.existsSync(`/sys/fs/cgroup/pids/cordon/${sb.spec.sandboxId}`)).toBe(false);
  });

  it('the command gets the same environment through a standby as through the plain wrapper', async () => {
    const parse = (out: string) => out.split('\0').slice(0, -1).sort();
    const primed = await run(r, ['/usr/bin/env', '-0'], { env: { EXTRA: 'a b' } });
    // A terminal's exec keeps the caller's session: it takes the plain wrapper.
    const plain = await run(r, ['/usr/bin/env', '-0'], {
      env: { EXTRA: 'a b' },
      newSession: false,
    });
    expect(parse(primed.stdout)).toEqual(parse(plain.stdout));
    expect(parse(primed.stdout)).toContain('EXTRA=a b');
    expect(parse(primed.stdout).some((e) => /^(SHLVL|OLDPWD|_)=/.test(e))).toBe(false);
    // bwrap --chdir sets PWD over the caller's; so does the stub.
    const pwd = await run(r, ['/usr/bin/env'], { env: { PWD: '/elsewhere' }, cwd: '/tmp' });
    expect(pwd.stdout).toMatch(/^PWD=\/tmp$/m);
  });

  it('refreshStandbys replaces every waiting standby (what a remount calls)', async () => {
    const sb = await t.sandbox();
    await run(sb, ['true']);
    const deadline = Date.now() + 10_000;
    const settled = async () => {
      while (standbyPids(sb.spec.sandboxId).length < DEFAULT_STANDBYS && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
      return standbyPids(sb.spec.sandboxId);
    };
    const before = await settled();
    expect(before).toHaveLength(DEFAULT_STANDBYS);
    sb.refreshStandbys();
    while (standbyPids(sb.spec.sandboxId).some((p) => before.includes(p)) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    const after = await settled();
    expect(after).toHaveLength(DEFAULT_STANDBYS);
    expect(after.filter((p) => before.includes(p))).toEqual([]);
    expect((await run(sb, ['echo', 'fresh'])).stdout).toBe('fresh\n');
  });

  it('keeps fewer standbys when the limits are small, and none below the budget', async () => {
    const small = await t.sandbox({ limits: { pids: 16 } });
    expect((await run(small, ['echo', 'ok'])).stdout).toBe('ok\n');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(standbyPids(small.spec.sandboxId)).toEqual([]);
    expect(standbyProcessesOfUid(small.spec.uid)).toEqual([]);
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
