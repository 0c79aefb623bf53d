// Ending an exec: SIGTERM to the command's whole tree, SIGKILL to everything after the grace.
//
// The tree is found through the cgroup, not the process group: --new-session, setsid() and
// double-forked daemons all leave the process group, none can leave the cgroup. The processes
// between the agent and the command are spared the SIGTERM — bwrap's monitor (--die-with-parent
// would then SIGKILL everything at once with no grace), bwrap's namespace init and, for the
// runner's standby chain, unshare and the bash above them (see standby.ts).
import fsp from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecCgroup } from '../cgroup/types.ts';

export async function parentPid(pid: number): Promise<number | null> {
  try {
    const stat = await fsp.readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 4, after "pid (comm) state"; comm may contain spaces and parentheses.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(rest[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch {
    return null;
  }
}

/**
 * Pids of the command's tree: every process of the cgroup except `outerPid` (the agent's child)
 * and its descendants down to `sparedDepth` generations — 1 when the child is bwrap's monitor
 * (spared: the monitor and its namespace init), 3 for the runner's standby chain (unshare → bash →
 * monitor → init).
 */
export async function commandPids(
  leaf: ExecCgroup,
  outerPid: number | undefined,
  sparedDepth = 1,
): Promise<number[]> {
  const pids = await leaf.pids();
  if (outerPid === undefined) return pids;
  // Parents of the leaf's processes and, walking up, of their ancestors (some of which, such as
  // the standby chain's unshare and bash, are outside the leaf).
  const parents = new Map<number, Promise<number | null>>();
  const parentOf = (pid: number): Promise<number | null> => {
    let p = parents.get(pid);
    if (!p) parents.set(pid, (p = parentPid(pid)));
    return p;
  };
  const spared = async (pid: number): Promise<boolean> => {
    let p: number | null = pid;
    for (let depth = 0; depth <= sparedDepth && p !== null && p > 1; depth++) {
      if (p === outerPid) return true;
      p = await parentOf(p);
    }
    return false;
  };
  const keep = await Promise.all(pids.map(async (pid) => !(await spared(pid))));
  return pids.filter((_, i) => keep[i]);
}

export async function terminateTree(
  leaf: ExecCgroup,
  outerPid: number | undefined,
  exited: Promise<unknown>,
  graceMs: number,
  sparedDepth = 1,
): Promise<void> {
  for (const pid of await commandPids(leaf, outerPid, sparedDepth)) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  // When the command exits, bwrap's init exits and the kernel kills the rest of the pid
  // namespace; children that ignore SIGTERM are left to the SIGKILL after the grace.
  if (graceMs > 0) {
    const grace = new AbortController();
    await Promise.race([
      exited,
      sleep(graceMs, undefined, { signal: grace.signal }).catch(() => undefined),
    ]);
    grace.abort();
  }
  await leaf.killAll();
}
