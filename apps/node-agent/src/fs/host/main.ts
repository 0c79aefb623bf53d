// Entry point of an fs host: a child process serving one sandbox's FUSE mount, driven by its parent
// over the IPC channel. Started by mountSandboxFs as `node main.ts`; never run it by hand.
import { compileCanonical } from '@cordon/policy';
import { DenialLimiter, type DenialEvent } from '../audit.ts';
import { FsError } from '../errors.ts';
import type { HostConfig, HostMessage, HostRequest, ParentMessage } from './protocol.ts';
import { loadFuse } from './fuse-native.ts';
import { FsServer } from './server.ts';

const DENIAL_FLUSH_MS = 100;

function send(msg: HostMessage): void {
  if (process.connected) process.send?.(msg);
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
  const server = await FsServer.create(config, policy, onDenial);
  await server.mount();
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

let server: FsServer | null = null;
let flushDenials: () => void = () => undefined;
let stopping = false;

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await server?.unmount();
  } finally {
    process.exit(code);
  }
}

process.on('message', (raw: ParentMessage) => {
  if (raw.type === 'start') {
    start(raw.config).then(
      (s) => {
        server = s.server;
        flushDenials = s.flush;
        send({ type: 'ready' });
      },
      (err: unknown) => {
        const code = err instanceof FsError ? err.code : 'MOUNT_FAILED';
        send({ type: 'fatal', code, message: (err as Error).message });
        setTimeout(() => process.exit(1), 50);
      },
    );
    return;
  }
  const req = raw;
  if (!server) {
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

// The node agent went away: unmount rather than serve an orphaned mount.
process.on('disconnect', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
