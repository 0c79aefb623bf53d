// cgroup detection from mountinfo text, and the v2 driver against a directory that mimics the
// unified hierarchy (this host has no v2 controllers to test with for real).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chooseCgroupLayout, parseCgroupMounts } from '../../src/cgroup/detect.ts';
import { cfsQuotaUs } from '../../src/cgroup/v1.ts';
import { CgroupV2Driver } from '../../src/cgroup/v2.ts';

const HYBRID_V1 = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw`;
const COMOUNTED = `32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids`;
const PURE_V2 = `30 23 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate`;

describe('cgroup detection', () => {
  it('chooses v1 when the unified hierarchy lacks the controllers (this machine)', () => {
    const r = chooseCgroupLayout(parseCgroupMounts(HYBRID_V1), () => ['hugetlb']);
    expect(r).toEqual({
      ok: true,
      layout: {
        version: 1,
        mounts: {
          cpu: '/sys/fs/cgroup/cpu',
          cpuacct: '/sys/fs/cgroup/cpuacct',
          memory: '/sys/fs/cgroup/memory',
          pids: '/sys/fs/cgroup/pids',
        },
      },
    });
  });

  it('handles co-mounted controllers', () => {
    const r = chooseCgroupLayout(parseCgroupMounts(COMOUNTED), () => []);
    expect(r.ok && r.layout.version === 1 && r.layout.mounts.cpu === r.layout.mounts.cpuacct).toBe(
      true,
    );
  });

  it('chooses v2 when it has memory, cpu and pids', () => {
    const r = chooseCgroupLayout(parseCgroupMounts(PURE_V2), () => [
      'cpuset',
      'cpu',
      'io',
      'memory',
      'pids',
    ]);
    expect(r).toMatchObject({ ok: true, layout: { version: 2, root: '/sys/fs/cgroup' } });
  });

  it('fails closed naming what is missing', () => {
    const r = chooseCgroupLayout(parseCgroupMounts(PURE_V2), () => ['cpu']);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/lacks \[memory, cpu, pids\].*subtree_control/);
  });

  it('converts millicores to a CFS quota', () => {
    expect(cfsQuotaUs(1000)).toBe(100_000);
    expect(cfsQuotaUs(250)).toBe(25_000);
    expect(cfsQuotaUs(2500)).toBe(250_000);
    expect(cfsQuotaUs(1)).toBe(1000); // kernel minimum
  });
});

describe('CgroupV2Driver (on a mimic directory)', () => {
  let root: string;
  beforeEach(async () => {
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'cg2-'));
    await fsp.writeFile(path.join(root, 'cgroup.subtree_control'), '');
  });
  afterEach(async () => {
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('enables controllers down the tree and writes the limits on the sandbox cgroup', async () => {
    const sb = await new CgroupV2Driver(root).openSandbox('sb1', {
      memoryBytes: 128 * 1024 * 1024,
      cpuMillicores: 500,
      pids: 64,
    });
    const read = (p: string): string => fs.readFileSync(path.join(root, p), 'utf8');
    expect(read('cgroup.subtree_control')).toBe('+memory +cpu +pids');
    expect(read('cordon/cgroup.subtree_control')).toBe('+memory +cpu +pids');
    expect(read('cordon/sb1/memory.max')).toBe(String(128 * 1024 * 1024));
    expect(read('cordon/sb1/cpu.max')).toBe('50000 100000');
    expect(read('cordon/sb1/pids.max')).toBe('64');

    const leaf = await sb.createExec('x1');
    expect(leaf.procsFiles).toEqual([path.join(root, 'cordon/sb1/x1/cgroup.procs')]);
    await fsp.writeFile(
      path.join(root, 'cordon/sb1/x1/memory.events'),
      'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n',
    );
    await fsp.writeFile(
      path.join(root, 'cordon/sb1/x1/cpu.stat'),
      'usage_usec 1234\nuser_usec 1000\n',
    );
    expect(await leaf.stats()).toEqual({ oomKills: 1, cpuUsageUsec: 1234, memoryPeakBytes: null });
    expect(await leaf.pids()).toEqual([]);
  });

  it('reuses an empty leaf, counting OOM kills per use; refuses to reuse a populated one', async () => {
    const sb = await new CgroupV2Driver(root).openSandbox('sb2', {
      memoryBytes: 1 << 26,
      cpuMillicores: 100,
      pids: 8,
    });
    const leaf = await sb.createExec('x1');
    const file = (name: string) => path.join(root, 'cordon/sb2/x1', name);
    await fsp.writeFile(file('pids.current'), '0\n');
    await fsp.writeFile(file('memory.events'), 'oom 2\noom_kill 2\n');
    expect(await leaf.finish()).toEqual({ oomKills: 2 });
    expect(await leaf.reuse()).toBe(true);
    expect(await leaf.finish()).toEqual({ oomKills: 0 });
    await fsp.writeFile(file('memory.events'), 'oom 3\noom_kill 3\n');
    expect(await leaf.finish()).toEqual({ oomKills: 1 });
    await fsp.writeFile(file('pids.current'), '1\n');
    expect(await leaf.reuse()).toBe(false);
  });

  it('puts sandboxes under a nested parent, enabling controllers on every level, and lists them', async () => {
    const d = new CgroupV2Driver(root, 'cordon/node-1');
    await d.openSandbox('sb3', { memoryBytes: 1 << 26, cpuMillicores: 100, pids: 8 });
    const read = (p: string): string => fs.readFileSync(path.join(root, p), 'utf8');
    expect(read('cordon/cgroup.subtree_control')).toBe('+memory +cpu +pids');
    expect(read('cordon/node-1/cgroup.subtree_control')).toBe('+memory +cpu +pids');
    expect(read('cordon/node-1/sb3/pids.max')).toBe('8');
    expect(await d.listSandboxes()).toEqual(['sb3']);
    expect(await new CgroupV2Driver(root, 'cordon/node-2').listSandboxes()).toEqual([]);
    expect(() => new CgroupV2Driver(root, 'cordon/../x')).toThrow(/not a valid cgroup name/);
  });

  it('rejects cgroup names that could escape the parent', async () => {
    const d = new CgroupV2Driver(root);
    await expect(
      d.openSandbox('../x', { memoryBytes: 1, cpuMillicores: 1, pids: 1 }),
    ).rejects.toMatchObject({ code: 'CREATE_FAILED' });
    const sb = await d.openSandbox('ok', { memoryBytes: 1 << 22, cpuMillicores: 100, pids: 8 });
    await expect(sb.createExec('a/b')).rejects.toMatchObject({ code: 'CREATE_FAILED' });
  });
});
