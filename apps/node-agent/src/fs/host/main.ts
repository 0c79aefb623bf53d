// Entry point of an fs host: a child process serving one sandbox's FUSE mount, driven by its parent
// over the IPC channel. Started by mountSandboxFs as `node main.ts`; never run it by hand.
import { rmdir } from 'node:fs/promises';
import { compileCanonical, compilePolicy } from '@cordon/policy';
import { DenialLimiter, type DenialEvent } from '../audit.ts';
import { FsError } from '../errors.ts';
import type { HostConfig, HostMessage, HostRequest, ParentMessage } from './protocol.ts';
import { loadFuse } from './fuse-native.ts';
import { FsServer } from './server.ts';

const DENIAL_FLUSH_MS = 100;

function send(msg: HostMessage): void {
  // With a callback, a channel closing under the write (the node agent stopping, e.g. while a pool
  // host premounts) is reported to it instead of crashing the host: 'disconnect' then unmounts.
  if (process.connected) process.send?.(msg, () => undefined);
}

async function start(config: HostConfig): Promise<{ server: FsServer; flush: () => void }> {
  let policy;
  try {
    policy = compileCanonical(config.policy.canonical, config.policy.hash);
  } catch (err) {
    throw new FsError('POLICY_MISMATCH', (err as Error).message, { cause: err });
  }
  const limiter = new DenialLimiter(config.rateLimit);
  let pending: DenialEvent[] = [];
  let timer: NodeJS.Timeout | null = null;
  const flush = (): void => {
    timer = null;
    const events = pending;
    pending = [];
    send({ type: 'denials', events, dropped: limiter.dropped });
  };
  const onDenial = (e: DenialEvent): void => {
    if (!limiter.admit(e.at)) return;
    pending.push(e);
    timer ??= setTimeout(flush, DENIAL_FLUSH_MS);
  };
  const server = premounted ?? (await FsServer.create(config, policy, onDenial));
  if (premounted) await premounted.configure(config, policy, onDenial);
  if (!premounted) await server.mount();
  const flushNow = (): void => {
    if (timer) clearTimeout(timer);
    if (pending.length > 0) flush();
    else timer = null;
  };
  return { server, flush: flushNow };
}

async function handle(
  server: FsServer,
  flushDenials: () => void,
  req: HostRequest,
): Promise<unknown> {
  switch (req.type) {
    case 'health':
      return server.health();
    case 'quiesce':
      return server.quiesce();
    case 'resume':
      server.resume();
      return null;
    case 'resetDelta':
      await server.resetDelta();
      return null;
    case 'invalidate':
      server.invalidate();
      return null;
    case 'beforeExec':
      await server.beforeExec();
      return null;
    case 'unmount':
      await server.unmount();
      return null;
    case 'flushDenials':
      // Pending events go out before the reply (IPC keeps order), so the parent has them all.
      flushDenials();
      return null;
    case 'prepareExec':
      // beforeExec + health in one round trip; a failed remount answers unmounted (fail closed).
      await server.beforeExec().catch(() => undefined);
      return server.health();
    case 'afterExec':
      flushDenials();
      return server.afterExec(req.commit === true);
  }
}

/**
 * A pool host has time before its sandbox comes: compiling a policy once now moves the first
 * (unoptimised, cold) run of the compiler off the create path. Best effort.
 */
function warmUp(): void {
  try {
    const p = compilePolicy({ preset: 'agent-safe' });
    compileCanonical(p.canonical, p.hash);
  } catch {
    // only a warm-up
  }
}

let server: FsServer | null = null;
/** A pool host's mount made before its sandbox was known (serving nothing until `start`). */
let premounted: FsServer | null = null;
/** Where an idle pool host premounted: the host owns that directory until its `start`. */
let idleMountPoint: string | null = null;
/** The premount being made (stop waits for it before unmounting). */
let premounting: Promise<void> | null = null;
let flushDenials: () => void = () => undefined;
let stopping = false;

/**
 * How long stopping waits for a mount still being made and then for the unmount: a host that
 * must go away never hangs on fuse-native (whose unmount of a mount that failed or is half made
 * may never call back); auto_unmount removes what is left when the process exits.
 */
const STOP_STEP_MS = 3_000;

function bounded(p: Promise<unknown> | undefined): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    (p ?? Promise.resolve()).catch(() => undefined),
    new Promise((resolve) => (timer = setTimeout(resolve, STOP_STEP_MS))),
  ]).finally(() => clearTimeout(timer));
}

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await bounded(premounting ?? undefined);
    await bounded((server ?? premounted)?.unmount());
    // An idle host that never served a sandbox (its node agent died or gave it up) leaves no
    // directory behind; rmdir, not rm -r, so a mount still there makes it fail instead of recursing.
    if (server === null && idleMountPoint !== null)
      await rmdir(idleMountPoint).catch(() => undefined);
  } finally {
    process.exit(code);
  }
}

process.on('message', (raw: ParentMessage) => {
  if (raw.type === 'premount') {
    const p = FsServer.premount(raw.mountPoint, raw.tuning);
    premounted = p;
    idleMountPoint = raw.mountPoint;
    premounting = p.mount();
    premounting.then(
      () => {
        send({ type: 'premounted' });
        warmUp();
      },
      (err: unknown) => {
        premounted = null;
        const code = err instanceof FsError ? err.code : 'MOUNT_FAILED';
        send({ type: 'fatal', code, message: (err as Error).message });
        setTimeout(() => process.exit(1), 50);
      },
    );
    return;
  }
  if (raw.type === 'start') {
    // The directory is now the sandbox's mount point (its owner removes it, or remounts on it).
    idleMountPoint = null;
    start(raw.config).then(
      (s) => {
        server = s.server;
        flushDenials = s.flush;
        send({ type: 'ready' });
      },
      (err: unknown) => {
        const code = err instanceof FsError ? err.code : 'MOUNT_FAILED';
        send({ type: 'fatal', code, message: (err as Error).message });
        // Unmounts a premounted mount first.
        setTimeout(() => void stop(1), 50);
      },
    );
    return;
  }
  const req = raw;
  if (!server) {
    if (req.type === 'unmount') {
      // A pool host given up before its start (or whose start failed): unmount what it premounted.
      send({ type: 'reply', id: req.id, ok: true, result: null });
      void stop(0);
      return;
    }
    send({
      type: 'reply',
      id: req.id,
      ok: false,
      code: 'NOT_MOUNTED',
      message: 'the fs host has not mounted yet',
    });
    return;
  }
  handle(server, flushDenials, req).then(
    (result) => {
      send({ type: 'reply', id: req.id, ok: true, result });
      if (req.type === 'unmount') setTimeout(() => process.exit(0), 10);
    },
    (err: unknown) => {
      const code = err instanceof FsError ? err.code : 'MOUNT_FAILED';
      send({ type: 'reply', id: req.id, ok: false, code, message: (err as Error).message });
    },
  );
});

// Load the native addon now, while waiting for the config (a pooled host waits a while): the mount
// then only mounts. A failure here is ignored — mount() loads it again and reports it.
try {
  loadFuse();
} catch {
  // reported by mount()
}

// The node agent went away: unmount rather than serve an orphaned mount. (Node reads the channel
// only once a 'message' listener exists, registered in this same tick, so an agent that died
// while this module loaded is still seen as a 'disconnect'.)
process.on('disconnect', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
