// Spawns in this process. Fine for tools and tests; a node agent uses the spawner process
// (remote.ts) because a fork of a big process blocks its event loop (see there).
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { ProcessExit, SandboxProcess, SpawnRequest, Spawner } from './types.ts';

/** child_process stdio for a request: stdin, two output pipes, then the payload pipes. */
export function stdioFor(req: SpawnRequest): StdioOptions {
  const payloadFds = [...(req.payloads?.keys() ?? [])];
  const last = payloadFds.length === 0 ? 2 : Math.max(...payloadFds);
  const stdio: ('pipe' | 'ignore')[] = [req.stdin, 'pipe', 'pipe'];
  for (let fd = 3; fd <= last; fd++) stdio.push(req.payloads?.has(fd) ? 'pipe' : 'ignore');
  return stdio;
}

/** Writes each payload into its pipe and closes it (the child reads them to EOF). */
export function writePayloads(child: ChildProcess, req: SpawnRequest): void {
  for (const [fd, data] of req.payloads ?? []) {
    const pipe = child.stdio[fd] as NodeJS.WritableStream | null | undefined;
    if (!pipe) continue;
    (pipe as unknown as { on(e: 'error', f: () => void): void }).on('error', () => undefined);
    pipe.end(data);
  }
}

/** Resolves with the child's exit (or {null, null} if it failed to start). */
export function exitOf(child: ChildProcess): Promise<ProcessExit> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
}

export class LocalSpawner implements Spawner {
  spawn(req: SpawnRequest): Promise<SandboxProcess> {
    const child = spawn(req.file, [...req.args], {
      stdio: stdioFor(req),
      env: { ...req.env },
    });
    writePayloads(child, req);
    child.stdin?.on('error', () => undefined);
    let hasExited = false;
    const exited = exitOf(child).then((e) => {
      hasExited = true;
      return e;
    });
    if (child.pid === undefined) {
      return exited.then(() => {
        throw new Error(`cannot start ${req.file}`);
      });
    }
    return Promise.resolve({
      pid: child.pid,
      stdin: child.stdin,
      stdout: child.stdout as NonNullable<typeof child.stdout>,
      stderr: child.stderr as NonNullable<typeof child.stderr>,
      exited,
      get hasExited() {
        return hasExited;
      },
      kill: (signal) => {
        if (!hasExited) child.kill(signal);
      },
    });
  }

  async close(): Promise<void> {
    // Nothing of its own: its children belong to their callers.
  }
}
