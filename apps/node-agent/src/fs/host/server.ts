// One sandbox's FUSE server inside the fs host: the context, the handlers (gated so a commit can
// pause them), and mount/unmount/remount of the kernel side.
import fs from 'node:fs';
import type { Policy } from '@cordon/policy';
import { deltaPaths } from '../../delta/layout.ts';
import { invalidationFor, NativeAttrCache } from '../attr-cache.ts';
import { readSeen, scanDelta } from '../../delta/scan.ts';
import type { DenialEvent } from '../audit.ts';
import type { FsContext } from '../context.ts';
import { DeltaIndex } from '../delta-index.ts';
import { FsError } from '../errors.ts';
import { Layers, type Owner } from '../layers.ts';
import { Listings } from '../listings.ts';
import { fileOps } from '../ops/files.ts';
import { metaOps } from '../ops/meta.ts';
import { treeOps } from '../ops/tree.ts';
import { buildFuseOptions } from '../options.ts';
import { SeenLog } from '../seen.ts';
import type { FuseInstance } from './fuse-native.ts';
import { loadFuse } from './fuse-native.ts';
import type { HostAfterExec, HostConfig, HostHealth } from './protocol.ts';

type AnyFn = (...args: never[]) => void;

export class FsServer {
  readonly #config: HostConfig;
  readonly #ctx: FsContext;
  readonly #ops: Record<string, AnyFn>;
  #fuse: FuseInstance | null = null;
  #paused = false;
  #queue: (() => void)[] = [];
  #pendingInvalidation = false;
  #remounts = 0;

  private constructor(config: HostConfig, ctx: FsContext) {
    this.#config = config;
    this.#ctx = ctx;
    this.#ops = this.#gate({ ...metaOps(ctx), ...fileOps(ctx), ...treeOps(ctx) });
  }

  static async create(
    config: HostConfig,
    policy: Policy,
    onDenial: (e: DenialEvent) => void,
  ): Promise<FsServer> {
    const layers = await openLayers(config);
    const ctx: FsContext = {
      sandboxId: config.sandboxId,
      policy,
      layers,
      owner: config.owner,
      handles: new Map(),
      nativeIo: config.tuning.nativeIo,
      attrCache: null,
      listings: new Listings(),
      onDenial,
    };
    return new FsServer(config, ctx);
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
    if (this.#config.tuning.nativeAttrCache && fuse._thread) {
      this.#ctx.attrCache = new NativeAttrCache(binding, fuse._thread, this.#config.owner);
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
    this.#ctx.attrCache = null;
  }

  /**
   * A fresh kernel connection: no cached attribute, entry or page can outlive it. Used before an
   * exec when another sandbox committed to the source since the last one.
   */
  async remount(): Promise<void> {
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

async function openLayers(config: HostConfig): Promise<Layers> {
  const dp = deltaPaths(config.deltaDir);
  await fs.promises.mkdir(dp.upper, { recursive: true, mode: 0o700 });
  await fs.promises.mkdir(dp.work, { recursive: true, mode: 0o700 });
  const index = DeltaIndex.fromScan(await scanDelta(config.deltaDir));
  const seen = new SeenLog(dp.seen);
  seen.preload((await readSeen(config.deltaDir)).keys());
  const src = await fs.promises.stat(config.sourceDir);
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
