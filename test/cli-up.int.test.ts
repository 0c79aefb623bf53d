import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createCordon } from '@cordon/client';
import { afterEach, describe, expect, it } from 'vitest';
import { cordonCli, startCordon, type CordonProcess } from './helpers/cli.ts';
import {
  descendants,
  mountsUnder,
  processesMentioning,
  stillRunning,
  type ProcInfo,
} from './helpers/procs.ts';

// `cordon up` as a user runs it: its own process, found by later commands through cluster.json,
// stopped by a signal. Everything it started must be gone afterwards: processes, mounts, socket.

interface Started {
  readonly dir: string;
  readonly dataDir: string;
  readonly up: CordonProcess;
  tree: ProcInfo[];
}

const started: Started[] = [];

afterEach(async () => {
  // A failed test must not leave a stack behind: kill what is left by PID, then unmount.
  for (const s of started.splice(0)) {
    s.up.kill();
    const left = [...s.tree, ...descendants(s.up.pid), ...processesMentioning(s.dataDir)];
    for (const p of stillRunning(left)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await s.up.exited;
    for (const m of mountsUnder(s.dataDir).reverse()) {
      const { spawnSync } = await import('node:child_process');
      spawnSync('umount', ['-l', m]);
    }
    await rm(s.dir, { recursive: true, force: true });
  }
});

async function startUp(nodes: number, detached = false, waitUp = true): Promise<Started> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cordon-up-'));
  // Sandboxes run as unprivileged uids and must reach the node data dirs below this one.
  await chmod(dir, 0o711);
  const dataDir = path.join(dir, 'state');
  const up = startCordon(['up', '--data-dir', dataDir, '--port', '0', '--nodes', String(nodes)], {
    env: { PATH: process.env['PATH'], HOME: dir, CORDON_LOG_LEVEL: 'warn' },
    detached,
  });
  const s: Started = { dir, dataDir, up, tree: [] };
  started.push(s);
  if (waitUp) await up.waitFor(/cordon is up at/, 90_000);
  return s;
}

/** A sandbox on a host directory with a command run in it, so FUSE mounts exist at shutdown. */
async function useSandbox(url: string, token: string, dir: string): Promise<void> {
  const proj = path.join(dir, 'proj');
  await mkdir(proj, { mode: 0o755 });
  await writeFile(path.join(proj, 'a.txt'), 'a\n');
  const cordon = createCordon({ url, token });
  try {
    const sb = await cordon.sandbox.fromLocal(proj, { preset: 'agent-safe' });
    const r = await sb.run(['cat', 'a.txt']);
    expect(r.stdout).toBe('a\n');
  } finally {
    await cordon.close();
  }
}

async function expectStoppedCleanly(s: Started): Promise<void> {
  const ex = await s.up.exited;
  expect(ex, s.up.stderr()).toEqual({ code: 0, signal: null });
  expect(s.up.stderr()).toMatch(/cordon: stopped\n$/);
  expect(s.up.stderr()).not.toMatch(/killed/);
  expect(stillRunning(s.tree).map((p) => `${p.pid} ${p.cmd}`)).toEqual([]);
  expect(processesMentioning(s.dataDir).map((p) => `${p.pid} ${p.cmd}`)).toEqual([]);
  expect(mountsUnder(s.dataDir)).toEqual([]);
  expect(existsSync(path.join(s.dataDir, 'redis.sock'))).toBe(false);
  expect(existsSync(path.join(s.dataDir, 'cluster.json'))).toBe(false);
}

describe('cordon up', () => {
  it('writes cluster.json, serves N nodes, refuses a second up, stops everything on SIGINT', async () => {
    const s = await startUp(2);
    const info = JSON.parse(await readFile(path.join(s.dataDir, 'cluster.json'), 'utf8')) as {
      url: string;
      token: string;
    };
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.token).toMatch(/^cdn_/);
    expect(s.up.stdout()).toBe(`${info.url}\n`);
    const res = await fetch(new URL('/healthz', info.url));
    expect(res.ok).toBe(true);
    const probe = createCordon({ url: info.url, token: info.token });
    try {
      expect(await probe.health()).toMatchObject({ ok: true, nodesUp: 2 });
    } finally {
      await probe.close();
    }

    // Later commands find the stack through the data dir alone.
    const env = { PATH: process.env['PATH'], HOME: s.dir, CORDON_HOME: s.dataDir };
    const nodes = await cordonCli(['nodes', '--json'], { env });
    expect(nodes.code, nodes.stderr).toBe(0);
    const list = nodes.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; status: string });
    expect(list.map((n) => [n.id, n.status]).sort()).toEqual([
      ['local-1', 'up'],
      ['local-2', 'up'],
    ]);

    const second = await cordonCli(['up', '--data-dir', s.dataDir, '--port', '0'], { env });
    expect(second.code).toBe(125);
    expect(second.stderr).toMatch(
      /^cordon: a stack already runs from .* \(pid \d+, http:\/\/127\.0\.0\.1:\d+\); stop it first/,
    );
    // The refused second `up` did not disturb the first.
    expect((await cordonCli(['nodes'], { env })).code).toBe(0);

    await useSandbox(info.url, info.token, s.dir);
    s.tree = descendants(s.up.pid);
    const cmds = s.tree.map((p) => p.cmd);
    expect(cmds.filter((c) => c.startsWith('redis-server'))).toHaveLength(1);
    expect(cmds.filter((c) => c.endsWith('gateway/src/main.ts'))).toHaveLength(1);
    expect(cmds.filter((c) => c.endsWith('worker/main.ts'))).toHaveLength(2);
    expect(mountsUnder(s.dataDir).length).toBeGreaterThan(0);
    // Disjoint sandbox uid ranges: sandboxes of two agents never share a uid.
    const uidBases = s.tree
      .filter((p) => p.cmd.endsWith('worker/main.ts'))
      .map((p) => {
        const environ = readFileSync(`/proc/${p.pid}/environ`, 'utf8').split('\0');
        return Number(environ.find((e) => e.startsWith('CORDON_UID_BASE='))?.split('=')[1]);
      });
    expect(uidBases.sort()).toEqual([2_000_000, 2_065_536]);

    process.kill(s.up.pid, 'SIGINT');
    await expectStoppedCleanly(s);
  });

  it('stops everything on SIGTERM', async () => {
    const s = await startUp(1);
    const info = JSON.parse(await readFile(path.join(s.dataDir, 'cluster.json'), 'utf8')) as {
      url: string;
      token: string;
    };
    await useSandbox(info.url, info.token, s.dir);
    s.tree = descendants(s.up.pid);
    expect(s.tree.some((p) => p.cmd.endsWith('worker/main.ts'))).toBe(true);
    process.kill(s.up.pid, 'SIGTERM');
    await expectStoppedCleanly(s);
  });

  it('stops everything on Ctrl-C in a terminal (SIGINT to the whole process group)', async () => {
    const s = await startUp(1, true);
    s.tree = descendants(s.up.pid);
    expect(s.tree.some((p) => p.cmd.startsWith('redis-server'))).toBe(true);
    process.kill(-s.up.pid, 'SIGINT');
    await expectStoppedCleanly(s);
  });

  it('a signal while it is still starting stops what was started', async () => {
    const s = await startUp(1, false, false);
    // The gateway runs, the node agent is starting: nothing is ready to be stopped in order yet.
    await s.up.waitFor(/gateway\s+pid \d+/, 60_000);
    s.tree = descendants(s.up.pid);
    process.kill(s.up.pid, 'SIGTERM');
    await expectStoppedCleanly(s);
  });

  it('a crashed child stops the rest and exits 125 naming it', async () => {
    const s = await startUp(1);
    s.tree = descendants(s.up.pid);
    const gw = s.tree.find((p) => p.cmd.endsWith('gateway/src/main.ts'));
    if (!gw) throw new Error(`no gateway in ${JSON.stringify(s.tree)}`);
    process.kill(gw.pid, 'SIGKILL');
    expect(await s.up.exited).toEqual({ code: 125, signal: null });
    expect(s.up.stderr()).toMatch(
      new RegExp(`cordon: gateway \\(pid ${gw.pid}\\) exited \\(SIGKILL\\); see .*/logs\\n$`),
    );
    expect(stillRunning(s.tree).map((p) => `${p.pid} ${p.cmd}`)).toEqual([]);
    expect(mountsUnder(s.dataDir)).toEqual([]);
  });
});
