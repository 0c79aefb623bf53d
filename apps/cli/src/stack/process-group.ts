import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Live (non-zombie) processes of process group `pgid`, from /proc. A zombie is not counted: an
 * orphan whose new parent never reaps it would otherwise look alive forever.
 */
export async function groupMembers(pgid: number): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // Fields after the parenthesised command (which may hold spaces): state ppid pgrp …
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(name));
  }
  return out;
}

/**
 * Waits until no process of group `pgid` is left: a service's helpers (a node agent's FUSE
 * servers) may still be unmounting when the service itself exited. After `timeoutMs` the rest is
 * SIGKILLed; answers how many had to be.
 */
export async function awaitGroupGone(pgid: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await groupMembers(pgid);
    if (left.length === 0) return 0;
    if (Date.now() >= deadline) {
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
      }
      return left.length;
    }
    await sleep(50);
  }
}
