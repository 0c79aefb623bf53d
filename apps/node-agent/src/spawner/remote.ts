// The node agent's side of its spawner process (main.ts): spawn() sends the request and resolves
// once the child runs and its stdio descriptors have arrived; exits and kills go by message.
//
// If the spawner process dies, its children die with it (see main.ts): every process it had
// started is reported exited by SIGKILL, pending spawns reject, and the next spawn() starts a new
// spawner.
import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { SpawnerMessage, SpawnerRequest } from './protocol.ts';
import type { ProcessExit, SandboxProcess, SpawnRequest, Spawner } from './types.ts';

const SPAWNER_MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

interface Pending {
  readonly req: SpawnRequest;
  pid?: number;
  readonly stdio: (Socket | undefined)[];
  resolve(p: SandboxProcess): void;
  reject(err: Error): void;
  /** Set once resolved. */
  process?: RemoteProcess;
  exit?: ProcessExit;
}

class RemoteProcess implements SandboxProcess {
  readonly pid: number;
  readonly stdin: Socket | null;
  readonly stdout: Socket;
  readonly stderr: Socket;
  readonly exited: Promise<ProcessExit>;
  hasExited = false;
  readonly #kill: (signal: NodeJS.Signals) => void;
  #settle!: (e: ProcessExit) => void;

  constructor(
    pid: number,
    stdio: readonly (Socket | undefined)[],
    kill: (signal: NodeJS.Signals) => void,
  ) {
    this.pid = pid;
    this.stdin = stdio[0] ?? null;
    this.stdout = stdio[1] as Socket;
    this.stderr = stdio[2] as Socket;
    this.#kill = kill;
    this.stdin?.on('error', () => undefined);
    this.exited = new Promise((resolve) => (this.#settle = resolve));
  }

  settle(e: ProcessExit): void {
    if (this.hasExited) return;
    this.hasExited = true;
    this.#settle(e);
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.hasExited) this.#kill(signal);
  }
}

export interface RemoteSpawnerOptions {
  /** Node's compile cache for the spawner's modules (see forkFsHost). Default none. */
  readonly compileCacheDir?: string;
  /** setpriv (util-linux), which makes the spawner die with this process. Default /usr/bin/setpriv. */
  readonly setprivPath?: string;
}

export class RemoteSpawner implements Spawner {
  readonly #opts: RemoteSpawnerOptions;
  #child: ChildProcess | null = null;
  #nextId = 0;
  readonly #pending = new Map<number, Pending>();
  #closed = false;

  constructor(opts: RemoteSpawnerOptions = {}) {
    this.#opts = opts;
  }

  /** Forks the spawner process now (otherwise the first spawn does). */
  start(): void {
    this.#ensure();
  }

  /** The spawner process's pid (for tests and logs). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  spawn(req: SpawnRequest): Promise<SandboxProcess> {
    if (this.#closed) return Promise.reject(new Error('the spawner is closed'));
    const child = this.#ensure();
    const id = ++this.#nextId;
    return new Promise<SandboxProcess>((resolve, reject) => {
      this.#pending.set(id, { req, stdio: [], resolve, reject });
      // While a process of ours runs, its exit is still to come over the channel.
      child.channel?.ref();
      const msg: SpawnerRequest = {
        type: 'spawn',
        id,
        file: req.file,
        args: req.args,
        env: req.env,
        stdin: req.stdin,
        payloads: [...(req.payloads ?? [])].map(([fd, data]) => [
          fd,
          Buffer.from(data).toString('base64'),
        ]),
      };
      // A failed send means the spawner is dying: its 'exit' rejects this spawn.
      child.send(msg, (err) => {
        if (err) this.#fail(id, err);
      });
    });
  }

  /** Stops the spawner process (its children die with it) and waits for it. */
  async close(): Promise<void> {
    this.#closed = true;
    const c = this.#child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.ref();
    c.kill('SIGTERM');
    await exited;
  }

  #ensure(): ChildProcess {
    const current = this.#child;
    if (current && current.exitCode === null && current.signalCode === null && current.connected)
      return current;
    // Started as `setpriv --pdeathsig KILL -- node main.ts`: the kernel kills it when this process
    // dies. Its 'disconnect' is not enough — Node does not emit it while a descriptor it sent
    // awaits its acknowledgement, which a killed agent never sends (seen: every spawner survived
    // a SIGKILLed agent that was spawning).
    const child = fork(SPAWNER_MAIN, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execPath: this.#opts.setprivPath ?? '/usr/bin/setpriv',
      execArgv: ['--pdeathsig', 'KILL', '--', process.execPath],
      serialization: 'json',
      ...(this.#opts.compileCacheDir === undefined
        ? {}
        : { env: { ...process.env, NODE_COMPILE_CACHE: this.#opts.compileCacheDir } }),
    });
    child.on('message', (m: SpawnerMessage, handle: unknown) => this.#onMessage(m, handle));
    child.once('exit', () => this.#onSpawnerExit(child));
    // The spawner must not keep the agent alive by itself, only while a process of ours runs.
    child.unref();
    child.channel?.unref();
    this.#child = child;
    return child;
  }

  #onMessage(m: SpawnerMessage, handle: unknown): void {
    const p = this.#pending.get(m.id);
    if (!p) {
      (handle as Socket | undefined)?.destroy();
      return;
    }
    switch (m.type) {
      case 'started':
        p.pid = m.pid;
        break;
      case 'stdio':
        p.stdio[m.fd] = handle as Socket;
        break;
      case 'failed':
        this.#fail(m.id, new Error(`cannot start ${p.req.file}: ${m.message}`));
        return;
      case 'exit':
        this.#exit(m.id, { code: m.code, signal: m.signal });
        return;
    }
    const need = p.req.stdin === 'pipe' ? [0, 1, 2] : [1, 2];
    if (!p.process && p.pid !== undefined && need.every((fd) => p.stdio[fd] !== undefined)) {
      const pid = p.pid;
      p.process = new RemoteProcess(pid, p.stdio, (signal) => this.#kill(m.id, signal));
      p.resolve(p.process);
    }
  }

  #kill(id: number, signal: NodeJS.Signals): void {
    const msg: SpawnerRequest = { type: 'kill', id, signal };
    this.#child?.send(msg, () => undefined);
  }

  #forget(id: number): void {
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#child?.channel?.unref();
  }

  #exit(id: number, e: ProcessExit): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#forget(id);
    if (p.process) p.process.settle(e);
    else {
      for (const s of p.stdio) s?.destroy();
      p.reject(new Error(`${p.req.file} exited before it was connected`));
    }
  }

  #fail(id: number, err: Error): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#forget(id);
    if (p.process) p.process.settle({ code: null, signal: 'SIGKILL' });
    else {
      for (const s of p.stdio) s?.destroy();
      p.reject(err);
    }
  }

  #onSpawnerExit(child: ChildProcess): void {
    if (this.#child === child) this.#child = null;
    // Its children died with it (pdeathsig / --die-with-parent).
    for (const id of [...this.#pending.keys()]) {
      this.#fail(id, new Error('the spawner process exited; retry'));
    }
  }
}
