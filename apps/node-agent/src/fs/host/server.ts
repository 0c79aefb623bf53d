// One sandbox's FUSE server inside the fs host: the context, the handlers (gated so a commit can
// pause them), and mount/unmount/remount of the kernel side.
import fs from 'node:fs';
import type { CanonicalPolicy, Policy } from '@cordon/policy';
import { deltaPaths } from '../../delta/layout.ts';
import { invalidationFor, NativeAttrCache } from '../attr-cache.ts';
import { readSeen, scanDelta } from '../../delta/scan.ts';
import type { DenialEvent } from '../audit.ts';
import type { FsContext } from '../context.ts';
import { DeltaIndex } from '../delta-index.ts';
import { E } from '../errno.ts';
import { FsError } from '../errors.ts';
import { Layers, type Owner } from '../layers.ts';
import { Listings } from '../listings.ts';
import { fileOps } from '../ops/files.ts';
import { metaOps } from '../ops/meta.ts';
import { treeOps } from '../ops/tree.ts';
import { buildFuseOptions, type FsTuning } from '../options.ts';
import { SeenLog } from '../seen.ts';
import type { FuseInstance } from './fuse-native.ts';
import { loadFuse } from './fuse-native.ts';
import type { HostAfterExec, HostConfig, HostHealth } from './protocol.ts';

type AnyFn = (...args: never[]) => void;

/** Names of the FUSE operations a server implements (the factories only build closures). */
const OP_NAMES = Object.keys({
  ...metaOps({} as FsContext),
  ...fileOps({} as FsContext),
  ...treeOps({} as FsContext),
});

export class FsServer {
  #config: HostConfig;
  #ctx: FsContext;
  readonly #ops: Record<string, AnyFn>;
  /**
   * False while premounted (no sandbox yet): every request fails with EIO — no policy, no
   * codebase — and no error answer is cached by the kernel, so nothing seen before configure()
   * outlives it.
   */
  #configured = true;
  #fuse: FuseInstance | null = null;
  #paused = false;
  #queue: (() => void)[] = [];
  #pendingInvalidation = false;
  #remounts = 0;

  private constructor(config: HostConfig, ctx: FsContext, ops?: Record<string, AnyFn>) {
    this.#config = config;
    this.#ctx = ctx;
    this.#ops = ops ?? this.#gate({ ...metaOps(ctx), ...fileOps(ctx), ...treeOps(ctx) });
  }

  static async create(
    config: HostConfig,
    policy: Policy,
    onDenial: (e: DenialEvent) => void,
  ): Promise<FsServer> {
    return new FsServer(config, await contextFor(config, policy, onDenial));
  }

  /**
   * A server for a mount made before its sandbox is known (fs-host pool): mount() it at
   * `mountPoint`, then configure() it once with the sandbox's config. Until then it serves no
   * request (EIO).
   */
  static premount(mountPoint: string, tuning: FsTuning): FsServer {
    const placeholder = {
      sandboxId: 'fs-pool',
      sourceDir: '',
      deltaDir: '',
      mountPoint,
      policy: { canonical: {} as CanonicalPolicy, hash: '' },
      quotaBytes: 0,
      owner: { uid: 65534, gid: 65534 },
      tuning,
      rateLimit: { perSecond: 0, burst: 0 },
    } satisfies HostConfig;
    const ops: Record<string, AnyFn> = {};
    for (const name of OP_NAMES) {
      ops[name] = (...args: never[]) =>
        (args[args.length - 1] as unknown as (errno: number) => void)(E.EIO);
    }
    const server = new FsServer(placeholder, {} as FsContext, ops);
    server.#configured = false;
    return server;
  }

  /**
   * Gives a premounted server its sandbox: the handlers are swapped in place (the kernel side
   * calls through the same table), then the native attribute cache is attached for the owner.
   * The config must name the mount point and tuning it was premounted with.
   */
  async configure(
    config: HostConfig,
    policy: Policy,
    onDenial: (e: DenialEvent) => void,
  ): Promise<void> {
    if (this.#configured) {
      throw new FsError('BAD_OPTIONS', 'this fs host already serves a sandbox; start a new one');
    }
    if (
      config.mountPoint !== this.#config.mountPoint ||
      JSON.stringify(config.tuning) !== JSON.stringify(this.#config.tuning)
    ) {
      throw new FsError(
        'BAD_OPTIONS',
        `this fs host was premounted at ${this.#config.mountPoint} with other options; start a new one for ${config.mountPoint}`,
      );
    }
    const fuse = this.#fuse;
    if (!fuse) throw new FsError('NOT_MOUNTED', 'the premounted fs host lost its mount');
    const ctx = await contextFor(config, policy, onDenial);
    this.#config = config;
    this.#ctx = ctx;
    const fresh = this.#gate({ ...metaOps(ctx), ...fileOps(ctx), ...treeOps(ctx) });
    for (const [name, fn] of Object.entries(fresh)) this.#ops[name] = fn;
    this.#attachAttrCache(fuse);
    this.#configured = true;
  }

  /**
   * While paused (a commit is reading the delta), requests wait instead of touching it. Every
   * operation that may change the delta first makes the native cache forget what it can
   * re-resolve, so no answer given after it comes from a resolution decided before it.
   */
  #gate(ops: Record<string, AnyFn>): Record<string, AnyFn> {
    const gated: Record<string, AnyFn> = {};
    for (const [name, fn] of Object.entries(ops)) {
      const run = (...args: never[]): void => {
        const inv = invalidationFor(name, args);
        this.#ctx.attrCache?.forget(inv);
        this.#ctx.listings.forget(inv);
        fn(...args);
      };
      gated[name] = (...args: never[]) => {
        if (this.#paused) this.#queue.push(() => run(...args));
        else run(...args);
      };
    }
    return gated;
  }

  async mount(): Promise<void> {
    const { Fuse, binding } = loadFuse();
    const fuse = new Fuse(this.#config.mountPoint, this.#ops, {
      // No 15 s per-operation timeout: a slow copy-up must not turn into ETIMEDOUT.
      timeout: false,
      // Clears a mount point left "not connected" by a crashed host.
      force: true,
      mkdir: false,
    });
    const options = buildFuseOptions(`cordon-${this.#config.sandboxId}`, this.#config.tuning);
    fuse._fuseOptions = () => options;
    await new Promise<void>((resolve, reject) => {
      fuse.mount((err) =>
        err
          ? reject(
              new FsError(
                'MOUNT_FAILED',
                `mount at ${this.#config.mountPoint} failed: ${err.message}; is /dev/fuse available and the mount point an empty directory?`,
                { cause: err },
              ),
            )
          : resolve(),
      );
    });
    this.#fuse = fuse;
    this.#binding = binding;
    if (this.#configured) this.#attachAttrCache(fuse);
  }

  #binding: ReturnType<typeof loadFuse>['binding'] | null = null;

  #attachAttrCache(fuse: FuseInstance): void {
    if (this.#config.tuning.nativeAttrCache && fuse._thread && this.#binding) {
      this.#ctx.attrCache = new NativeAttrCache(this.#binding, fuse._thread, this.#config.owner);
    }
  }

  async unmount(): Promise<void> {
    const fuse = this.#fuse;
    if (!fuse) return;
    this.#fuse = null;
    await new Promise<void>((resolve, reject) => {
      fuse.unmount((err) => (err ? reject(err) : resolve()));
    });
    // The addon freed the cache with the mount. Kept if the unmount failed: the mount may still
    // serve, and must still be told what to forget.
    if (this.#configured) this.#ctx.attrCache = null;
  }

  /**
   * A fresh kernel connection: no cached attribute, entry or page can outlive it. Used before an
   * exec when another sandbox committed to the source since the last one.
   */
  async remount(): Promise<void> {
    if (!this.#configured) throw new FsError('NOT_MOUNTED', 'a premounted fs host has no sandbox');
    await this.unmount();
    await this.mount();
    this.#remounts++;
  }

  invalidate(): void {
    this.#pendingInvalidation = true;
  }

  async beforeExec(): Promise<void> {
    if (!this.#pendingInvalidation) return;
    this.#pendingInvalidation = false;
    await this.remount();
  }

  /**
   * After an exec: reports whether the delta holds anything a commit would apply. With `commit`,
   * an otherwise empty delta's first-seen records are dropped here, as the committer would when it
   * clears a delta with no operations — so the parent can skip quiesce + commit + resetDelta.
   */
  afterExec(commit: boolean): HostAfterExec {
    const { index, seen } = this.#ctx.layers;
    const empty =
      !this.#paused &&
      index.entries.size === 0 &&
      index.whiteouts.size === 0 &&
      index.opaque.size === 0;
    if (!empty) return { clean: false };
    if (seen.size === 0) return { clean: true };
    if (!commit) return { clean: false };
    // Natively served opens skip the seen log once a path is in it: forget them first.
    this.#ctx.attrCache?.bump();
    seen.reset();
    // Synchronous: no FUSE op may append a record between the reset and the truncation.
    try {
      fs.truncateSync(deltaPaths(this.#config.deltaDir).seen, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return { clean: true };
  }

  quiesce(): { openHandles: number } {
    this.#paused = true;
    // The committer is about to move the delta: getattr must wait in the queue like the rest.
    this.#ctx.attrCache?.bump();
    return { openHandles: this.#ctx.handles.size };
  }

  resume(): void {
    this.#paused = false;
    const queued = this.#queue;
    this.#queue = [];
    for (const run of queued) run();
  }

  /** After the committer cleared the delta: forget it, re-read it from disk, carry on. */
  async resetDelta(): Promise<void> {
    this.#ctx.attrCache?.bump();
    this.#ctx.listings.clear();
    for (const h of this.#ctx.handles.values()) h.stale = true;
    this.#ctx.layers.seen.reset();
    this.#ctx.layers = await openLayers(this.#config);
    // Handlers captured the old Layers object; rebuild them around the new one.
    const fresh = this.#gate({
      ...metaOps(this.#ctx),
      ...fileOps(this.#ctx),
      ...treeOps(this.#ctx),
    });
    for (const [name, fn] of Object.entries(fresh)) this.#ops[name] = fn;
    this.resume();
  }

  health(): HostHealth {
    return {
      mounted: this.#fuse !== null,
      paused: this.#paused,
      openHandles: this.#ctx.handles.size,
      usedBytes: this.#ctx.layers.index.usedBytes,
      quotaBytes: this.#ctx.layers.quotaBytes,
      pendingInvalidation: this.#pendingInvalidation,
      remounts: this.#remounts,
    };
  }
}

async function contextFor(
  config: HostConfig,
  policy: Policy,
  onDenial: (e: DenialEvent) => void,
): Promise<FsContext> {
  return {
    sandboxId: config.sandboxId,
    policy,
    layers: await openLayers(config, config.freshDelta === true),
    owner: config.owner,
    handles: new Map(),
    nativeIo: config.tuning.nativeIo,
    attrCache: null,
    listings: new Listings(),
    onDenial,
  };
}

/**
 * The layers over the delta on disk. `fresh` (first open of a delta the parent just created):
 * nothing to read back. Synchronous calls: nothing else is served while layers are opened, and
 * they spare thread-pool hops on the create path.
 */
async function openLayers(config: HostConfig, fresh = false): Promise<Layers> {
  const dp = deltaPaths(config.deltaDir);
  fs.mkdirSync(dp.upper, { recursive: true, mode: 0o700 });
  fs.mkdirSync(dp.work, { recursive: true, mode: 0o700 });
  const index = DeltaIndex.fromScan(fresh ? null : await scanDelta(config.deltaDir));
  const seen = new SeenLog(dp.seen);
  if (!fresh) seen.preload((await readSeen(config.deltaDir)).keys());
  const src = fs.statSync(config.sourceDir);
  const fileOwner: Owner | null = process.getuid?.() === 0 ? { uid: src.uid, gid: src.gid } : null;
  return new Layers({
    source: config.sourceDir,
    deltaDir: config.deltaDir,
    index,
    seen,
    quotaBytes: config.quotaBytes,
    fileOwner,
  });
}
