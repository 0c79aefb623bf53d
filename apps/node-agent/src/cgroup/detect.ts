// Which cgroup hierarchy this host offers, read from /proc/self/mountinfo. v2 is used when its
// unified hierarchy has the memory, cpu and pids controllers; otherwise v1 when those three are
// mounted as v1 hierarchies (this machine: /sys/fs/cgroup/<controller>); otherwise unsupported.
import fs from 'node:fs';

export const REQUIRED_CONTROLLERS = ['memory', 'cpu', 'pids'] as const;
export type V1Controller = 'memory' | 'cpu' | 'cpuacct' | 'pids';

export interface CgroupMount {
  readonly fstype: 'cgroup' | 'cgroup2';
  readonly mountPoint: string;
  /** v1: the controllers of this hierarchy (from the super options); v2: empty. */
  readonly controllers: readonly string[];
}

export type CgroupLayout =
  | { readonly version: 2; readonly root: string; readonly controllers: readonly string[] }
  | { readonly version: 1; readonly mounts: Readonly<Partial<Record<V1Controller, string>>> };

export type CgroupLayoutResult =
  | { readonly ok: true; readonly layout: CgroupLayout }
  | { readonly ok: false; readonly reason: string };

const unescapeMountinfo = (s: string): string =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const post = line.slice(sep + 3).split(' ');
    const fstype = post[0];
    const mountPoint = pre[4];
    if ((fstype !== 'cgroup' && fstype !== 'cgroup2') || mountPoint === undefined) continue;
    const controllers =
      fstype === 'cgroup'
        ? (post[2] ?? '').split(',').filter((o) => o !== 'rw' && o !== 'ro' && !o.includes('='))
        : [];
    out.push({ fstype, mountPoint: unescapeMountinfo(mountPoint), controllers });
  }
  return out;
}

/**
 * Chooses the hierarchy. `v2Controllers` reads a v2 mount's cgroup.controllers (injectable for tests).
 */
export function chooseCgroupLayout(
  mounts: readonly CgroupMount[],
  v2Controllers: (mountPoint: string) => readonly string[] = readV2Controllers,
): CgroupLayoutResult {
  const v2 = mounts.find((m) => m.fstype === 'cgroup2');
  const v2Ctrls = v2 ? v2Controllers(v2.mountPoint) : [];
  if (v2 && REQUIRED_CONTROLLERS.every((c) => v2Ctrls.includes(c))) {
    return { ok: true, layout: { version: 2, root: v2.mountPoint, controllers: v2Ctrls } };
  }
  const v1: Partial<Record<V1Controller, string>> = {};
  for (const m of mounts) {
    if (m.fstype !== 'cgroup') continue;
    for (const c of ['memory', 'cpu', 'cpuacct', 'pids'] as const) {
      if (m.controllers.includes(c) && v1[c] === undefined) v1[c] = m.mountPoint;
    }
  }
  const missing = REQUIRED_CONTROLLERS.filter((c) => v1[c] === undefined);
  if (missing.length === 0) return { ok: true, layout: { version: 1, mounts: v1 } };
  const v2Note = v2
    ? `cgroup v2 at ${v2.mountPoint} offers [${v2Ctrls.join(', ')}]`
    : 'no cgroup v2 mount';
  return {
    ok: false,
    reason:
      `no cgroup hierarchy with the memory, cpu and pids controllers: ${v2Note}; ` +
      `cgroup v1 lacks [${missing.join(', ')}]. Enable them (v2: write "+memory +cpu +pids" to the ` +
      `root cgroup.subtree_control; v1: mount the controllers) — Cordon does not run without limits.`,
  };
}

function readV2Controllers(mountPoint: string): string[] {
  try {
    return fs
      .readFileSync(`${mountPoint}/cgroup.controllers`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean);
  } catch {
    return [];
  }
}

export function detectCgroupLayout(mountinfoPath = '/proc/self/mountinfo'): CgroupLayoutResult {
  let text: string;
  try {
    text = fs.readFileSync(mountinfoPath, 'utf8');
  } catch (err) {
    return { ok: false, reason: `cannot read ${mountinfoPath}: ${String(err)}` };
  }
  return chooseCgroupLayout(parseCgroupMounts(text));
}
