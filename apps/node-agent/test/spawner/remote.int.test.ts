// The node agent's spawner process (RemoteSpawner): processes it starts behave as if the agent had
// started them (argv, environment, stdio, payload descriptors, exit status, signals), and its own
// death is reported, not hung on.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalSpawner } from '../../src/spawner/local.ts';
import { RemoteSpawner } from '../../src/spawner/remote.ts';
import type { Spawner } from '../../src/spawner/types.ts';

const spawners: Spawner[] = [];
afterEach(async () => {
  for (const s of spawners.splice(0)) await s.close();
});

function remote(): RemoteSpawner {
  const s = new RemoteSpawner();
  spawners.push(s);
  return s;
}

async function readAll(s: Readable): Promise<string> {
  let out = '';
  for await (const chunk of s) out += (chunk as Buffer).toString('utf8');
  return out;
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const ENV = { PATH: '/usr/bin:/bin', ODD: 'a b\n"c"' };

describe.each([
  ['remote', remote],
  ['local', () => new LocalSpawner()],
] as const)('%s spawner', (_name, make) => {
  it('passes argv, stdin and payload descriptors; reports the exit status', async () => {
    const s = make();
    const p = await s.spawn({
      file: '/bin/bash',
      args: ['--norc', '-c', 'printf "%s|" "$0" "$ODD"; cat; cat <&3; exit 7', 'arg0 x'],
      env: ENV,
      stdin: 'pipe',
      payloads: new Map([[3, new TextEncoder().encode('from fd 3')]]),
    });
    expect(p.pid).toBeGreaterThan(0);
    p.stdin?.end(' stdin ');
    const [out, err, exit] = await Promise.all([readAll(p.stdout), readAll(p.stderr), p.exited]);
    expect(err).toBe('');
    expect(out).toBe('arg0 x|a b\n"c"| stdin from fd 3');
    expect(exit).toEqual({ code: 7, signal: null });
    expect(p.hasExited).toBe(true);
  });

  it('gives exactly the environment asked for', async () => {
    const p = await make().spawn({ file: '/usr/bin/env', args: ['-0'], env: ENV, stdin: 'ignore' });
    expect((await readAll(p.stdout)).split('\0').slice(0, -1).sort()).toEqual([
      'ODD=a b\n"c"',
      'PATH=/usr/bin:/bin',
    ]);
  });

  it('loses no output of a process that exits at once (300 in a row)', async () => {
    const s = make();
    for (let i = 0; i < 300; i++) {
      const p = await s.spawn({
        file: '/bin/sh',
        args: ['-c', `echo out${i}; echo err${i} >&2`],
        env: ENV,
        stdin: 'ignore',
      });
      const [out, err] = await Promise.all([readAll(p.stdout), readAll(p.stderr), p.exited]);
      expect([out, err]).toEqual([`out${i}\n`, `err${i}\n`]);
    }
  });

  it('delivers signals while the process runs; kill after exit is a no-op', async () => {
    const s = make();
    const p = await s.spawn({ file: '/bin/sleep', args: ['100'], env: ENV, stdin: 'ignore' });
    expect(p.stdin).toBeNull();
    p.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: null, signal: 'SIGTERM' });
    p.kill('SIGKILL');
  });

  it('a file that cannot be started rejects, and the spawner goes on', async () => {
    const s = make();
    await expect(
      s.spawn({ file: '/no/such/binary', args: [], env: ENV, stdin: 'ignore' }),
    ).rejects.toThrow(/no\/such\/binary/);
    const p = await s.spawn({ file: '/bin/true', args: [], env: ENV, stdin: 'ignore' });
    expect((await p.exited).code).toBe(0);
  });
});

describe('remote spawner process', () => {
  it('when it dies, its processes are reported killed and die with it; the next spawn starts a new one', async () => {
    const s = remote();
    // setpriv --pdeathsig: as the sandbox chains are (standby: setpriv; plain: bwrap --die-with-parent).
    const p = await s.spawn({
      file: '/usr/bin/setpriv',
      args: ['--pdeathsig', 'KILL', '--', '/bin/sleep', '100'],
      env: ENV,
      stdin: 'ignore',
    });
    const first = s.pid as number;
    process.kill(first, 'SIGKILL');
    expect(await p.exited).toEqual({ code: null, signal: 'SIGKILL' });
    for (let i = 0; i < 500 && alive(p.pid as number); i++) await sleep(10);
    expect(alive(p.pid as number)).toBe(false);
    const q = await s.spawn({ file: '/bin/echo', args: ['again'], env: ENV, stdin: 'ignore' });
    expect(await readAll(q.stdout)).toBe('again\n');
    expect(s.pid).not.toBe(first);
  });

  it('dies with its agent, also when the agent is SIGKILLed while spawning (10 times)', async () => {
    for (let i = 0; i < 10; i++) {
      const agent = fork(path.join(import.meta.dirname, 'agent-fixture.ts'), [], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const exited = new Promise<void>((r) => agent.once('exit', () => r()));
      const spawner = await new Promise<number>((resolve) =>
        agent.once('message', (m: { spawner: number }) => resolve(m.spawner)),
      );
      await sleep(50 + i * 20);
      agent.kill('SIGKILL');
      await exited;
      for (let j = 0; j < 500 && alive(spawner); j++) await sleep(10);
      expect(alive(spawner)).toBe(false);
    }
  });

  it('close() stops the spawner process; spawns after it reject', async () => {
    const s = remote();
    s.start();
    const pid = s.pid as number;
    expect(alive(pid)).toBe(true);
    await s.close();
    expect(alive(pid)).toBe(false);
    await expect(
      s.spawn({ file: '/bin/true', args: [], env: ENV, stdin: 'ignore' }),
    ).rejects.toThrow(/closed/);
  });
});
