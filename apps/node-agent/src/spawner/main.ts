// Entry point of a node agent's spawner process: starts sandbox processes on the agent's behalf
// and hands their stdio descriptors back over the IPC channel. Forked by RemoteSpawner; never
// run it by hand.
//
// Why a process of its own: libuv starts a child with fork(), which copies the parent's page
// tables — on this VM ~60 µs per MiB of resident memory, during which the event loop is blocked.
// A node agent holds ~200 MiB (12 ms per spawn, one per exec); this process holds ~40 MiB and
// loads nothing but node:child_process.
import { spawn, type ChildProcess } from 'node:child_process';
import { stdioFor, writePayloads } from './local.ts';
import type { SpawnerMessage, SpawnerRequest } from './protocol.ts';

const children = new Map<number, ChildProcess>();

/** Stops libuv reading a socket (net.Socket has no public way: pause() keeps filling its buffer). */
function stopReading(socket: unknown): void {
  const handle = (socket as { _handle?: { reading?: boolean; readStop?: () => number } } | null)
    ?._handle;
  if (!handle?.readStop) return;
  handle.reading = false;
  handle.readStop();
}

function send(m: SpawnerMessage, handle?: unknown): void {
  // A failed send means the agent is gone: 'disconnect' below ends this process.
  process.send?.(m, handle as never, { keepOpen: false }, () => undefined);
}

process.on('message', (req: SpawnerRequest) => {
  if (req.type === 'kill') {
    const c = children.get(req.id);
    if (c && c.exitCode === null && c.signalCode === null) c.kill(req.signal);
    return;
  }
  const payloads = new Map(req.payloads.map(([fd, b64]) => [fd, Buffer.from(b64, 'base64')]));
  const full = { ...req, payloads };
  let child: ChildProcess;
  try {
    child = spawn(req.file, [...req.args], { stdio: stdioFor(full), env: { ...req.env } });
  } catch (err) {
    send({ type: 'failed', id: req.id, message: (err as Error).message });
    return;
  }
  if (child.pid === undefined) {
    child.once('error', (err) => send({ type: 'failed', id: req.id, message: err.message }));
    return;
  }
  children.set(req.id, child);
  writePayloads(child, full);
  // The stdio sockets are the agent's. Node starts reading a child's output sockets at once and
  // drains them on exit (flushStdio): output read here would be lost, and a socket that saw EOF
  // before its queued send goes out is sent without its descriptor. So reading stops before the
  // event loop runs again, and the sockets are taken out of the ChildProcess.
  const [stdin, stdout, stderr] = child.stdio;
  for (const out of [stdout, stderr]) stopReading(out);
  const stdio = child.stdio as unknown as unknown[];
  stdio[0] = stdio[1] = stdio[2] = null;
  child.stdin = null;
  child.stdout = null;
  child.stderr = null;
  child.once('exit', (code, signal) => {
    children.delete(req.id);
    send({ type: 'exit', id: req.id, code, signal });
  });
  send({ type: 'started', id: req.id, pid: child.pid });
  if (stdin) send({ type: 'stdio', id: req.id, fd: 0 }, stdin);
  send({ type: 'stdio', id: req.id, fd: 1 }, stdout);
  send({ type: 'stdio', id: req.id, fd: 2 }, stderr);
});

// The agent stopped gracefully: so do we. (A killed agent may leave a descriptor unacknowledged,
// and Node then never emits 'disconnect': the kernel kills us instead — see RemoteSpawner.)
// Standbys die with us (setpriv --pdeathsig), bwrap with its parent (--die-with-parent).
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
