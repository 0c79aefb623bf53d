// cgroup v2 driver: cordon/<sandboxId> holds memory.max, memory.swap.max, cpu.max and pids.max;
// exec leaves below it are killed with cgroup.kill (Linux 5.14+; SIGKILL loop otherwise) and
// report OOM kills in memory.events.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CgroupError } from './errors.ts';
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
import { CFS_PERIOD_US, cfsQuotaUs, CORDON_PARENT } from './v1.ts';

const SUBTREE = '+memory +cpu +pids';

class V2ExecCgroup implements ExecCgroup {
  readonly name: string;
  readonly procsFiles: readonly string[];
  readonly #dir: string;
  #pidsCurrent: HeldCgroupFile | null = null;
  #memoryEvents: HeldCgroupFile | null = null;
  /** OOM kills counted before the current use (see reuse()). */
  #oomBase = 0;

  constructor(name: string, dir: string) {
    this.name = name;
    this.#dir = dir;
    this.procsFiles = [path.join(dir, 'cgroup.procs')];
  }

  /** Opens the files finish() reads, so that reading them at the end of an exec is one pread. */
  async hold(): Promise<void> {
    [this.#pidsCurrent, this.#memoryEvents] = await Promise.all([
      HeldCgroupFile.open(path.join(this.#dir, 'pids.current')),
      HeldCgroupFile.open(path.join(this.#dir, 'memory.events')),
    ]);
  }

  async finish(): Promise<{ readonly oomKills: number }> {
    const current = await readHeld(this.#pidsCurrent, path.join(this.#dir, 'pids.current'));
    if (current === null || current.trim() !== '0') await this.killAll();
    return { oomKills: (await this.#oomKills()) - this.#oomBase };
  }

  async #oomKills(): Promise<number> {
    const events = await readHeld(this.#memoryEvents, path.join(this.#dir, 'memory.events'));
    return parseKeyedLines(events).get('oom_kill') ?? 0;
  }

  async reuse(): Promise<boolean> {
    const current = await readHeld(this.#pidsCurrent, path.join(this.#dir, 'pids.current'));
    if (current === null || current.trim() !== '0') return false;
    this.#oomBase = await this.#oomKills();
    return true;
  }

  pids(): Promise<number[]> {
    return readPids(path.join(this.#dir, 'cgroup.procs'));
  }

  async signalAll(signal: NodeJS.Signals): Promise<number> {
    return signalPids(await this.pids(), signal);
  }

  async killAll(): Promise<void> {
    const killFile = path.join(this.#dir, 'cgroup.kill');
    if (fs.existsSync(killFile)) {
      await writeCgroupFile(killFile, '1', 'KILL_FAILED');
      const deadline = Date.now() + 10_000;
      while ((await this.pids()).length > 0) {
        if (Date.now() > deadline) {
          throw new CgroupError(
            'KILL_FAILED',
            `cgroup ${this.#dir} still populated 10 s after cgroup.kill`,
          );
        }
        await sleep(2);
      }
      return;
    }
    await killUntilEmpty(path.join(this.#dir, 'cgroup.procs'));
  }

  async stats(): Promise<CgroupStats> {
    const [events, cpu, peak] = await Promise.all([
      readOptional(path.join(this.#dir, 'memory.events')),
      readOptional(path.join(this.#dir, 'cpu.stat')),
      readOptional(path.join(this.#dir, 'memory.peak')),
    ]);
    return {
      oomKills: parseKeyedLines(events).get('oom_kill') ?? 0,
      cpuUsageUsec: parseKeyedLines(cpu).get('usage_usec') ?? null,
      memoryPeakBytes: peak === null ? null : Number(peak.trim()),
    };
  }

  async remove(): Promise<void> {
    await Promise.all([this.#pidsCurrent?.close(), this.#memoryEvents?.close()]);
    this.#pidsCurrent = this.#memoryEvents = null;
    await killAndRemove(this.#dir, () => this.killAll());
  }
}

class V2SandboxCgroup implements SandboxCgroup {
  readonly sandboxId: string;
  readonly #root: string;
  readonly #dir: string;

  readonly #parent: readonly string[];

  constructor(root: string, sandboxId: string, parent: readonly string[]) {
    this.sandboxId = sandboxId;
    this.#root = root;
    this.#parent = parent;
    this.#dir = path.join(root, ...parent, sandboxId);
  }

  async init(limits: CgroupLimits): Promise<void> {
    // Controllers must be enabled on every level above the cgroup that uses them.
    await writeCgroupFile(
      path.join(this.#root, 'cgroup.subtree_control'),
      SUBTREE,
      'CREATE_FAILED',
    );
    for (let i = 1; i <= this.#parent.length; i++) {
      const level = path.join(this.#root, ...this.#parent.slice(0, i));
      await mkdirCgroup(level);
      await writeCgroupFile(path.join(level, 'cgroup.subtree_control'), SUBTREE, 'CREATE_FAILED');
    }
    await mkdirCgroup(this.#dir);
    await writeCgroupFile(path.join(this.#dir, 'cgroup.subtree_control'), SUBTREE, 'CREATE_FAILED');
    await writeCgroupFile(
      path.join(this.#dir, 'memory.max'),
      String(limits.memoryBytes),
      'LIMIT_FAILED',
    );
    if (fs.existsSync(path.join(this.#dir, 'memory.swap.max'))) {
      await writeCgroupFile(path.join(this.#dir, 'memory.swap.max'), '0', 'LIMIT_FAILED');
    }
    await writeCgroupFile(
      path.join(this.#dir, 'cpu.max'),
      `${cfsQuotaUs(limits.cpuMillicores)} ${CFS_PERIOD_US}`,
      'LIMIT_FAILED',
    );
    await writeCgroupFile(path.join(this.#dir, 'pids.max'), String(limits.pids), 'LIMIT_FAILED');
  }

  async createExec(execId: string): Promise<ExecCgroup> {
    checkCgroupName('execId', execId);
    const dir = path.join(this.#dir, execId);
    await mkdirCgroup(dir);
    const leaf = new V2ExecCgroup(`${this.sandboxId}/${execId}`, dir);
    await leaf.hold();
    return leaf;
  }

  async remove(): Promise<void> {
    for (const name of await childCgroups(this.#dir)) {
      await new V2ExecCgroup(name, path.join(this.#dir, name)).remove();
    }
    await killAndRemove(this.#dir, () => killUntilEmpty(path.join(this.#dir, 'cgroup.procs')));
  }
}

export class CgroupV2Driver implements CgroupDriver {
  readonly version = 2 as const;
  readonly #root: string;
  readonly #parent: readonly string[];

  /** `parent`: where sandbox cgroups go below `root`, e.g. `cordon/node-1`. */
  constructor(root: string, parent = CORDON_PARENT) {
    this.#root = root;
    this.#parent = checkCgroupParent(parent);
  }

  async openSandbox(sandboxId: string, limits: CgroupLimits): Promise<SandboxCgroup> {
    checkCgroupName('sandboxId', sandboxId);
    const sb = new V2SandboxCgroup(this.#root, sandboxId, this.#parent);
    await sb.init(limits);
    return sb;
  }

  listSandboxes(): Promise<string[]> {
    return childCgroups(path.join(this.#root, ...this.#parent));
  }

  async removeSandbox(sandboxId: string): Promise<void> {
    checkCgroupName('sandboxId', sandboxId);
    await new V2SandboxCgroup(this.#root, sandboxId, this.#parent).remove();
  }
}
