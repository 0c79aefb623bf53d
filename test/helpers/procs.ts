import { readFileSync, readdirSync } from 'node:fs';

/** A process as /proc shows it; `startTicks` tells a reused PID from the original. */
export interface ProcInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly state: string;
  readonly startTicks: string;
  readonly cmd: string;
}

function readStat(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may hold spaces: split after the last ')'.
    const close = stat.lastIndexOf(')');
    const rest = stat.slice(close + 2).split(' ');
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return {
      pid,
      ppid: Number(rest[1]),
      state: rest[0] ?? '?',
      startTicks: rest[19] ?? '',
      cmd: cmd || stat.slice(stat.indexOf('(') + 1, close),
    };
  } catch {
    return null;
  }
}

/** Every live descendant of `root` (children, grandchildren…), read from /proc. */
export function descendants(root: number): ProcInfo[] {
  const all: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = readStat(Number(name));
    if (p) all.push(p);
  }
  const out: ProcInfo[] = [];
  const frontier = [root];
  while (frontier.length) {
    const parent = frontier.pop();
    for (const p of all) {
      if (p.ppid === parent) {
        out.push(p);
        frontier.push(p.pid);
      }
    }
  }
  return out;
}

/** The processes of `procs` still running (same PID and start time, not a zombie). */
export function stillRunning(procs: readonly ProcInfo[]): ProcInfo[] {
  return procs.filter((p) => {
    const now = readStat(p.pid);
    return now !== null && now.startTicks === p.startTicks && now.state !== 'Z';
  });
}

/** Mount points at or below `dir` (from /proc/self/mountinfo). */
export function mountsUnder(dir: string): string[] {
  const unescape = (s: string) =>
    s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => unescape(l.split(' ')[4] ?? ''))
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/** Whether `pid` runs (a zombie does not). */
export function isAlive(pid: number): boolean {
  const p = readStat(pid);
  return p !== null && p.state !== 'Z';
}

/**
 * Live processes whose command line or environment mentions `dir`: what a stack started there
 * (redis-server's socket, CORDON_DATA_DIR of node agents, …), even once orphaned and reparented.
 */
export function processesMentioning(dir: string): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const p = readStat(Number(name));
    if (!p || p.state === 'Z') continue;
    let environ = '';
    try {
      environ = readFileSync(`/proc/${name}/environ`, 'utf8');
    } catch {
      // gone, or not ours to read
    }
    if (p.cmd.includes(dir) || environ.includes(dir)) out.push(p);
  }
  return out;
}
