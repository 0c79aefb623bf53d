// NodeRuntime with premounted fs hosts (the default): a sandbox's mount point is a pool directory
// under <dataDir>/run/fs-pool, execs see the codebase through it, and closing the runtime leaves
// no FUSE mount, no fs host and no pool directory; a restart clears what a previous run left.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compilePolicy } from '@cordon/policy';
import { afterEach, describe, expect, it } from 'vitest';
import { fuseMountsAt } from '../../src/fs/teardown.ts';
import { NodeRuntime, type SandboxSpec } from '../../src/worker/runtime.ts';

const dirs: string[] = [];
const runtimes: NodeRuntime[] = [];
afterEach(async () => {
  for (const r of runtimes.splice(0)) await r.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** FUSE mount points at or below `dir`. */
function fuseMountsUnder(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => / - fuse(\.|\s)/.test(l))
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

function hostPidsOf(parent: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (Number(fields[1]) === parent && fields[0] !== 'Z' && cmd.includes('fs/host/main.ts')) {
        out.push(Number(d));
      }
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function openRuntime(dataDir: string): Promise<NodeRuntime> {
  const { runtime } = await NodeRuntime.open({
    dataDir,
    allowPaths: [],
    onDenial: () => undefined,
    uidBase: 2_600_000,
    uidCount: 100,
  });
  runtimes.push(runtime);
  return runtime;
}

function spec(sandboxId: string, codebaseId: string): SandboxSpec {
  const policy = compilePolicy({
    preset: 'agent-safe',
    rules: [{ pattern: '/**', permission: 'write', priority: 50 }],
  });
  return {
    sandboxId,
    tenantId: 't1',
    codebaseId,
    scratch: true,
    policy: { canonical: policy.canonical, hash: policy.hash },
    limits: {
      memoryBytes: 512 * 1024 ** 2,
      cpuMillicores: 1000,
      pids: 256,
      timeoutMs: null,
      outputBytes: 1024 ** 2,
    },
    network: 'none',
    strict: false,
    idleTimeoutMs: null,
    commit: 'always',
    commitMode: 'lww',
    quotaBytes: 1024 ** 3,
  };
}

describe('NodeRuntime with premounted fs hosts', () => {
  it('mounts sandboxes on pool directories and leaves nothing behind on close', async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-rt-premount-'));
    dirs.push(base);
    fs.chmodSync(base, 0o711);
    const dataDir = path.join(base, 'data');
    const poolDir = path.join(dataDir, 'run', 'fs-pool');
    // What a killed previous run may leave: an empty pool directory (its mount went with its host).
    fs.mkdirSync(path.join(poolDir, 'leftover'), { recursive: true });

    const runtime = await openRuntime(dataDir);
    expect(fs.existsSync(path.join(poolDir, 'leftover'))).toBe(false);
    await runtime.codebases.createEmpty('cb1');
    const cb = await runtime.codebases.get('cb1');
    fs.writeFileSync(path.join(cb?.dir ?? '', 'hello.txt'), 'hi');

    const held = await runtime.open(spec('sb1', 'cb1'));
    runtime.afterCreate();
    const ex = await held.sandbox.exec({
      argv: ['sh', '-c', 'cat hello.txt && echo new > new.txt'],
    });
    let out = '';
    for await (const c of ex) out += Buffer.from(c.data).toString();
    const r = await ex.result;
    expect(r.exitCode).toBe(0);
    expect(out).toBe('hi');
    expect(r.commit?.added).toEqual(['/new.txt']);
    expect(fs.readFileSync(path.join(cb?.dir ?? '', 'new.txt'), 'utf8')).toBe('new\n');

    const sandboxMounts = fuseMountsUnder(dataDir);
    // The sandbox's mount and the idle hosts' mounts: all in the pool directory, one per dir.
    expect(sandboxMounts.length).toBeGreaterThanOrEqual(1);
    for (const m of sandboxMounts) expect(path.dirname(m)).toBe(poolDir);
    expect(fs.existsSync(path.join(dataDir, 'sandboxes', 'sb1', 'mnt'))).toBe(false);

    await runtime.destroy('sb1');
    await runtime.close();
    runtimes.length = 0;
    expect(fuseMountsUnder(dataDir)).toEqual([]);
    expect(fs.readdirSync(poolDir)).toEqual([]);
    for (let i = 0; i < 100 && hostPidsOf(process.pid).length > 0; i++) {
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(hostPidsOf(process.pid)).toEqual([]);
    for (const m of sandboxMounts) expect(await fuseMountsAt(m)).toEqual([]);
  });
});
