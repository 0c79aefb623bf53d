// Ending an exec: SIGTERM to the command's whole tree, SIGKILL to everything after the grace.
//
// The tree is found through the cgroup, not the process group: --new-session, setsid() and
// double-forked daemons all leave the process group, none can leave the cgroup. bwrap's own two
// processes (the outer monitor and the namespace's init) are spared the SIGTERM: the monitor
// would die of it and --die-with-parent would then SIGKILL everything at once with no grace.
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

/** Pids of the command's tree: every process of the cgroup except bwrap's monitor and its init. */
export async function commandPids(
  leaf: ExecCgroup,
  bwrapPid: number | undefined,
): Promise<number[]> {
  const pids = await leaf.pids();
  if (bwrapPid === undefined) return pids;
  const out: number[] = [];
  for (const pid of pids) {
    if (pid === bwrapPid) continue;
    if ((await parentPid(pid)) === bwrapPid) continue;
    out.push(pid);
  }
  return out;
}

export async function terminateTree(
  leaf: ExecCgroup,
  bwrapPid: number | undefined,
  exited: Promise<unknown>,
  graceMs: number,
): Promise<void> {
  for (const pid of await commandPids(leaf, bwrapPid)) {
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
