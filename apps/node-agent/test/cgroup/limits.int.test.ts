// Limits on the real cgroup hierarchy of this host (v1 here; v2 where available).
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIB } from '../../src/runner/spec.ts';
import { run, setupTestHost, type TestHost } from '../runner/helpers.ts';

const execFileP = promisify(execFile);

let t: TestHost;
beforeAll(async () => {
  t = await setupTestHost();
});
afterAll(async () => {
  await t?.cleanup();
});

describe('memory', () => {
  it('an allocation beyond the limit is OOM-killed and reported as oomKilled', async () => {
    const r = await t.sandbox({ limits: { memoryBytes: 64 * MIB } });
    // Writing every byte: untouched pages would not count.
    const { result } = await run(r, [
      'python3',
      '-c',
      'x = b"a" * (300 * 1024 * 1024); print(len(x))',
    ]);
    expect(result.oomKilled).toBe(true);
    expect(result.signal).toBe('SIGKILL');
    expect(result.exitCode).toBeNull();
  });

  it('an OOM kill counts for its own exec only, also for execs that reuse its cgroup leaf', async () => {
    const r = await t.sandbox({ limits: { memoryBytes: 64 * MIB } });
    const oom = await run(r, ['python3', '-c', 'x = b"a" * (300 * 1024 * 1024)']);
    expect(oom.result.oomKilled).toBe(true);
    // Finished execs' leaves go to the standby pool: a few execs later one runs in that leaf.
    for (let i = 0; i < 6; i++) {
      const { result } = await run(r, ['true']);
      expect(result.oomKilled).toBe(false);
    }
  });

  it('an allocation under the limit is not', async () => {
    const r = await t.sandbox({ limits: { memoryBytes: 256 * MIB } });
    const { result, stdout } = await run(r, [
      'python3',
      '-c',
      'x = b"a" * (32 * 1024 * 1024); print(len(x))',
    ]);
    expect(result.oomKilled).toBe(false);
    expect(result.exitCode).toBe(0);
    expect(stdout.trim()).toBe(String(32 * MIB));
  });
});

describe('pids', () => {
  it('contains a fork bomb while the host stays responsive, and kills it all on timeout', async () => {
    const pids = 64;
    const r = await t.sandbox({ limits: { pids } });
    const exec = await r.exec(
      { argv: ['bash', '-c', 'bomb() { bomb | bomb & }; bomb; sleep 30'] },
      { timeoutMs: 4000, killGraceMs: 200 },
    );
    const drained = exec.drain();
    let maxSeen = 0;
    let hostSpawns = 0;
    const leafPids = async (): Promise<number> => (await exec.pids()).length;
    for (let i = 0; i < 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      maxSeen = Math.max(maxSeen, await leafPids());
      // The host can still start processes (the bomb cannot take all pids or all CPU).
      const { stdout } = await execFileP('/bin/echo', ['alive']);
      if (stdout === 'alive\n') hostSpawns++;
    }
    await drained;
    const result = await exec.result;
    expect(result.timedOut).toBe(true);
    expect(maxSeen).toBeGreaterThan(10); // it did fork…
    expect(maxSeen).toBeLessThanOrEqual(pids); // …but never past the limit
    expect(hostSpawns).toBe(10);
    expect(await exec.pids()).toEqual([]);
  });
});

describe('cpu', () => {
  it('keeps CPU time within the quota over a fixed busy period', async () => {
    const r = await t.sandbox({ limits: { cpuMillicores: 200 } });
    // Two busy processes for 1.5 s of wall time each; their CPU time is what the quota bounds.
    const script = `import os, time
def busy():
    end = time.monotonic() + 1.5
    while time.monotonic() < end: pass
start = time.monotonic()
kids = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        busy(); os._exit(0)
    kids.append(pid)
for k in kids: os.waitpid(k, 0)
wall = time.monotonic() - start
t = os.times()
print((t.children_user + t.children_system) / wall)`;
    const { result, stdout } = await run(r, ['python3', '-c', script]);
    expect(result.exitCode).toBe(0);
    const ratio = Number(stdout.trim());
    // Unlimited this would approach 2.0 (two cores); the quota is 0.2 of a core. Generous margin
    // for the scheduler's period granularity.
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThan(0.5);
  });
});

describe('removeSandbox', () => {
  it('kills what a previous run left in a sandbox cgroup and removes it with its leaves', async () => {
    const id = `rm${process.pid}`;
    const cg = await t.ctx.cgroups.openSandbox(id, {
      memoryBytes: 64 * MIB,
      cpuMillicores: 500,
      pids: 64,
    });
    const leaf = await cg.createExec('x1');
    await cg.createExec('x2');
    // A process left in a leaf, as after a SIGKILLed agent.
    const script = 'for f in "$@"; do echo 0 > "$f"; done; exec sleep 100';
    const child = spawn('/bin/sh', ['-c', script, 'left', ...leaf.procsFiles], { stdio: 'ignore' });
    const exited = new Promise<string | null>((r) => child.once('exit', (_c, sig) => r(sig)));
    for (let i = 0; i < 200 && (await leaf.pids()).length === 0; i++) await sleep(10);
    expect(await leaf.pids()).toEqual([child.pid]);
    await t.ctx.cgroups.removeSandbox(id);
    expect(await exited).toBe('SIGKILL');
    for (const f of leaf.procsFiles)
      expect(fs.existsSync(path.dirname(path.dirname(f)))).toBe(false);
    // Unknown: nothing to do; a name that would escape the parent is refused.
    await t.ctx.cgroups.removeSandbox(`${id}-none`);
    await expect(t.ctx.cgroups.removeSandbox('../x')).rejects.toMatchObject({
      code: 'CREATE_FAILED',
    });
  });
});
