// cgroup v1 driver: one directory per hierarchy (memory, cpu, cpuacct, pids — some may share a
// mount), all named cordon/<sandboxId>[/<execId>]. Limits live on the sandbox level and apply
// hierarchically to every exec leaf below it.
import fs from 'node:fs';
import path from 'node:path';
import type { V1Controller } from './detect.ts';
import {
  checkCgroupName,
  checkCgroupParent,
  childCgroups,
  HeldCgroupFile,
  killUntilEmpty,
  mkdirCgroup,
  parseKeyedLines,
  readHeld,
  readOptional,
  readPids,
  killAndRemove,
  signalPids,
  writeCgroupFile,
} from './fsutil.ts';
import type {
  CgroupDriver,
  CgroupLimits,
  CgroupStats,
  ExecCgroup,
  SandboxCgroup,
} from './types.ts';

export const CFS_PERIOD_US = 100_000;
export const CORDON_PARENT = 'cordon';

/** cpu.cfs_quota_us for a millicore budget (the kernel's floor is 1 ms per period). */
export function cfsQuotaUs(cpuMillicores: number, periodUs = CFS_PERIOD_US): number {
  return Math.max(1000, Math.round((cpuMillicores * periodUs) / 1000));
}

interface V1Dirs {
  /** Distinct hierarchy directories (deduplicated when controllers share a mount). */
  readonly all: readonly string[];
  readonly memory: string;
  readonly cpu: string;
  readonly pids: string;
  readonly cpuacct: string | null;
}

function dirsFor(mounts: Readonly<Partial<Record<V1Controller, string>>>, rel: string): V1Dirs {
  const at = (c: V1Controller): string | null =>
    mounts[c] === undefined ? null : path.join(mounts[c], rel);
  const memory = at('memory');
  const cpu = at('cpu');
  const pids = at('pids');
  if (memory === null || cpu === null || pids === null)
    throw new Error('v1 layout without memory/cpu/pids');
  // cpuacct only where it shares the cpu hierarchy: a separate one would cost another join per
  // exec for a statistic the result does not need.
  const cpuacct = mounts.cpuacct !== undefined && mounts.cpuacct === mounts.cpu ? cpu : null;
  const all = [...new Set([memory, cpu, pids])];
  return { all, memory, cpu, pids, cpuacct };
}

class V1ExecCgroup implements ExecCgroup {
  readonly name: string;
  readonly procsFiles: readonly string[];
  readonly #dirs: V1Dirs;
  #pidsCurrent: HeldCgroupFile | null = null;
  #oomControl: HeldCgroupFile | null = null;
  /** OOM kills counted before the current use (see reuse()). */
  #oomBase = 0;

  constructor(name: string, dirs: V1Dirs) {
    this.name = name;
    this.#dirs = dirs;
    this.procsFiles = dirs.all.map((d) => path.join(d, 'cgroup.procs'));
  }

  /** Opens the files finish() reads, so that reading them at the end of an exec is one pread. */
  async hold(): Promise<void> {
    [this.#pidsCurrent, this.#oomControl] = await Promise.all([
      HeldCgroupFile.open(path.join(this.#dirs.pids, 'pids.current')),
      HeldCgroupFile.open(path.join(this.#dirs.memory, 'memory.oom_control')),
    ]);
  }

  async finish(): Promise<{ readonly oomKills: number }> {
    const current = await readHeld(this.#pidsCurrent, path.join(this.#dirs.pids, 'pids.current'));
    // pids.current counts every task charged to the leaf, exiting and unreaped ones included.
    if (current === null || current.trim() !== '0') await this.killAll();
    return { oomKills: (await this.#oomKills()) - this.#oomBase };
  }

  async #oomKills(): Promise<number> {
    const oom = await readHeld(
      this.#oomControl,
      path.join(this.#dirs.memory, 'memory.oom_control'),
    );
    return parseKeyedLines(oom).get('oom_kill') ?? 0;
  }

  async reuse(): Promise<boolean> {
    const current = await readHeld(this.#pidsCurrent, path.join(this.#dirs.pids, 'pids.current'));
    if (current === null || current.trim() !== '0') return false;
    this.#oomBase = await this.#oomKills();
    return true;
  }

  pids(): Promise<number[]> {
    return readPids(path.join(this.#dirs.pids, 'cgroup.procs'));
  }

  async signalAll(signal: NodeJS.Signals): Promise<number> {
    return signalPids(await this.pids(), signal);
  }

  async killAll(): Promise<void> {
    // The wrapper joins the hierarchies in procsFiles order and children inherit all of them, so
    // every process that ever joined any is in the first one. (One that joined only some is a
    // wrapper whose join failed; it exits on its own without running anything, and remove()
    // still empties every hierarchy before rmdir.)
    await killUntilEmpty(this.procsFiles[0] as string);
  }

  async stats(): Promise<CgroupStats> {
    const [oom, usage, peak] = await Promise.all([
      readOptional(path.join(this.#dirs.memory, 'memory.oom_control')),
      this.#dirs.cpuacct
        ? readOptional(path.join(this.#dirs.cpuacct, 'cpuacct.usage'))
        : Promise.resolve(null),
      readOptional(path.join(this.#dirs.memory, 'memory.max_usage_in_bytes')),
    ]);
    return {
      oomKills: parseKeyedLines(oom).get('oom_kill') ?? 0,
      cpuUsageUsec: usage === null ? null : Math.round(Number(usage.trim()) / 1000),
      memoryPeakBytes: peak === null ? null : Number(peak.trim()),
    };
  }

  async remove(): Promise<void> {
    await this.killAll();
    await Promise.all([this.#pidsCurrent?.close(), this.#oomControl?.close()]);
    this.#pidsCurrent = this.#oomControl = null;
    for (const d of this.#dirs.all)
      await killAndRemove(d, () => killUntilEmpty(path.join(d, 'cgroup.procs')));
  }
}

class V1SandboxCgroup implements SandboxCgroup {
  readonly sandboxId: string;
  readonly #mounts: Readonly<Partial<Record<V1Controller, string>>>;
  readonly #dirs: V1Dirs;

  readonly #parent: readonly string[];

  constructor(
    sandboxId: string,
    mounts: Readonly<Partial<Record<V1Controller, string>>>,
    parent: readonly string[],
  ) {
    this.sandboxId = sandboxId;
    this.#mounts = mounts;
    this.#parent = parent;
    this.#dirs = dirsFor(mounts, path.join(...parent, sandboxId));
  }

  async init(limits: CgroupLimits): Promise<void> {
    for (let i = 1; i <= this.#parent.length; i++) {
      for (const d of dirsFor(this.#mounts, path.join(...this.#parent.slice(0, i))).all)
        await mkdirCgroup(d);
    }
    for (const d of this.#dirs.all) await mkdirCgroup(d);
    await this.#writeMemory(limits.memoryBytes);
    await writeCgroupFile(
      path.join(this.#dirs.cpu, 'cpu.cfs_period_us'),
      String(CFS_PERIOD_US),
      'LIMIT_FAILED',
    );
    await writeCgroupFile(
      path.join(this.#dirs.cpu, 'cpu.cfs_quota_us'),
      String(cfsQuotaUs(limits.cpuMillicores)),
      'LIMIT_FAILED',
    );
    await writeCgroupFile(
      path.join(this.#dirs.pids, 'pids.max'),
      String(limits.pids),
      'LIMIT_FAILED',
    );
  }

  async #writeMemory(bytes: number): Promise<void> {
    const limit = path.join(this.#dirs.memory, 'memory.limit_in_bytes');
    const memsw = path.join(this.#dirs.memory, 'memory.memsw.limit_in_bytes');
    if (!fs.existsSync(memsw)) {
      await writeCgroupFile(limit, String(bytes), 'LIMIT_FAILED');
      return;
    }
    // memsw (memory + swap) must stay >= the memory limit, so the write order depends on
    // whether the limit grows or shrinks; setting both to the same value forbids swap use.
    try {
      await writeCgroupFile(limit, String(bytes), 'LIMIT_FAILED');
      await writeCgroupFile(memsw, String(bytes), 'LIMIT_FAILED');
    } catch {
      await writeCgroupFile(memsw, String(bytes), 'LIMIT_FAILED');
      await writeCgroupFile(limit, String(bytes), 'LIMIT_FAILED');
    }
  }

  async createExec(execId: string): Promise<ExecCgroup> {
    checkCgroupName('execId', execId);
    const dirs = dirsFor(this.#mounts, path.join(...this.#parent, this.sandboxId, execId));
    await Promise.all(dirs.all.map((d) => mkdirCgroup(d)));
    const leaf = new V1ExecCgroup(`${this.sandboxId}/${execId}`, dirs);
    await leaf.hold();
    return leaf;
  }

  async remove(): Promise<void> {
    for (const root of this.#dirs.all) {
      for (const name of await childCgroups(root)) {
        const leaf = path.join(root, name);
        await killAndRemove(leaf, () => killUntilEmpty(path.join(leaf, 'cgroup.procs')));
      }
    }
    for (const d of this.#dirs.all)
      await killAndRemove(d, () => killUntilEmpty(path.join(d, 'cgroup.procs')));
  }
}

export class CgroupV1Driver implements CgroupDriver {
  readonly version = 1 as const;
  readonly #mounts: Readonly<Partial<Record<V1Controller, string>>>;
  readonly #parent: readonly string[];

  /** `parent`: where sandbox cgroups go in each hierarchy, e.g. `cordon/node-1`. */
  constructor(mounts: Readonly<Partial<Record<V1Controller, string>>>, parent = CORDON_PARENT) {
    this.#mounts = mounts;
    this.#parent = checkCgroupParent(parent);
  }

  async openSandbox(sandboxId: string, limits: CgroupLimits): Promise<SandboxCgroup> {
    checkCgroupName('sandboxId', sandboxId);
    const sb = new V1SandboxCgroup(sandboxId, this.#mounts, this.#parent);
    await sb.init(limits);
    return sb;
  }

  listSandboxes(): Promise<string[]> {
    return childCgroups(dirsFor(this.#mounts, path.join(...this.#parent)).pids);
  }

  async removeSandbox(sandboxId: string): Promise<void> {
    checkCgroupName('sandboxId', sandboxId);
    await new V1SandboxCgroup(sandboxId, this.#mounts, this.#parent).remove();
  }
}
