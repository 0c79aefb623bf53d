// The node's execution stack, opened once per node agent: host check (fail closed), the data
// directory, crash recovery of commits and stale mounts, and the sandboxes it holds.
//
// Data dir layout:
//   <dataDir>/codebases/<id>/{codebase.json, tree/}   codebases (see codebase/store.ts)
//   <dataDir>/sandboxes/<id>/{sandbox.json, delta/, mnt/}
//   <dataDir>/state/                                   commit journals and locks
//   <dataDir>/run/                                     host runtime files (/etc snapshot)
import fsp from 'node:fs/promises';
import path from 'node:path';
import { compileCanonical } from '@cordon/policy';
import type { Limits, NetworkMode, PolicyWire } from '@cordon/protocol';
import { z } from 'zod';
import { CodebaseStore } from '../codebase/index.ts';
import { CommitQueue, recoverAll, type CommitMode, type CommitPolicy } from '../commit/index.ts';
import type { DenialEvent } from '../fs/index.ts';
import { FsHostPool, warmCompileCache } from '../fs/host/pool.ts';
import { cleanupStaleMounts } from '../mounts/index.ts';
import { createCgroupDriver, RemoteSpawner, requireHost, UidPool } from '../runner/index.ts';
import { CodebaseHub, Sandbox, type NodeContext } from '../sandbox/index.ts';
import { WorkerError } from './errors.ts';

/** Everything needed to (re)create a sandbox; persisted as sandbox.json for recovery. */
export const SandboxSpecSchema = z.object({
  sandboxId: z.string(),
  tenantId: z.string(),
  codebaseId: z.string(),
  scratch: z.boolean(),
  policy: z.object({ canonical: z.unknown(), hash: z.string() }),
  limits: z.object({
    memoryBytes: z.number(),
    cpuMillicores: z.number(),
    pids: z.number(),
    timeoutMs: z.number().nullable(),
    outputBytes: z.number(),
  }),
  network: z.enum(['none', 'host']),
  strict: z.boolean(),
  idleTimeoutMs: z.number().nullable(),
  commit: z.enum(['always', 'on-success', 'never']),
  commitMode: z.enum(['lww', 'reject-conflicts']),
  quotaBytes: z.number(),
});
export interface SandboxSpec {
  readonly sandboxId: string;
  readonly tenantId: string;
  readonly codebaseId: string;
  readonly scratch: boolean;
  readonly policy: PolicyWire;
  readonly limits: Limits;
  readonly network: NetworkMode;
  readonly strict: boolean;
  readonly idleTimeoutMs: number | null;
  readonly commit: CommitPolicy;
  readonly commitMode: CommitMode;
  readonly quotaBytes: number;
}

export interface HeldSandbox {
  readonly spec: SandboxSpec;
  readonly sandbox: Sandbox;
  readonly uid: number;
  /** Last time work started or ended (idle timeout). */
  lastActiveMs: number;
}

export interface RuntimeOptions {
  /** Sandbox cgroups go to `cordon/<nodeId>` (default `cordon`, shared with other agents). */
  readonly nodeId?: string;
  readonly dataDir: string;
  /** Host directories accepted as `path` codebases. */
  readonly allowPaths: readonly string[];
  /** Called for every denied access (rate-limited by the permission filesystem). */
  readonly onDenial: (spec: SandboxSpec, event: DenialEvent) => void;
  /** First uid of this node's sandbox uids (two agents on one host need disjoint ranges). */
  readonly uidBase?: number;
  readonly uidCount?: number;
  /** Pre-started fs hosts kept idle for new sandboxes (see fs/host/pool.ts). Default 2. */
  readonly fsHostStandby?: number;
}

/** The parents of `dir` must be traversable by the sandbox uids (bwrap binds the mount from there). */
async function checkTraversable(dir: string): Promise<void> {
  let cur = dir;
  for (;;) {
    const st = await fsp.stat(cur);
    if ((st.mode & 0o001) === 0) {
      throw new WorkerError(
        'INTERNAL',
        `${cur} is not searchable by other users (mode ${(st.mode & 0o777).toString(8)}); sandboxes run as unprivileged uids and must reach ${dir} — chmod o+x ${cur} or choose another data dir`,
      );
    }
    const up = path.dirname(cur);
    if (up === cur) return;
    cur = up;
  }
}

/**
 * Removes the mount points a previous run's pool left (their mounts are gone by now: the stale
 * mount cleanup ran). rmdir, never a recursive delete: a mount still there fails it instead of
 * being walked into.
 */
async function clearPremountDir(dir: string): Promise<void> {
  for (const name of await fsp.readdir(dir)) {
    try {
      await fsp.rmdir(path.join(dir, name));
    } catch (err) {
      throw new WorkerError(
        'INTERNAL',
        `cannot remove ${path.join(dir, name)} left by a previous run (${(err as Error).message}); unmount it (umount -l) and remove it`,
      );
    }
  }
}

export class NodeRuntime {
  readonly dataDir: string;
  readonly ctx: NodeContext;
  readonly codebases: CodebaseStore;
  readonly #o: RuntimeOptions;
  readonly #uids: UidPool;
  readonly #held = new Map<string, HeldSandbox>();
  /** Destroys under way: a second caller (destroy job vs. sweep) waits for the first rather than
   *  deleting the directory while its FUSE mount is still being taken down. */
  readonly #destroying = new Map<string, Promise<void>>();
  readonly #sandboxesDir: string;

  private constructor(o: RuntimeOptions, dataDir: string, ctx: NodeContext) {
    this.#o = o;
    this.dataDir = dataDir;
    this.ctx = ctx;
    this.#sandboxesDir = path.join(dataDir, 'sandboxes');
    this.codebases = new CodebaseStore({
      root: path.join(dataDir, 'codebases'),
      dataDir,
      allowPaths: o.allowPaths,
    });
    this.#uids = new UidPool(o.uidBase, o.uidCount);
  }

  /**
   * Fails closed when the host cannot run sandboxes (the message names what is missing). Before
   * returning: stale FUSE mounts under the data dir are removed and interrupted commits recovered,
   * so no work is accepted on top of a half-applied commit or a dead mount.
   */
  static async open(o: RuntimeOptions): Promise<{ runtime: NodeRuntime; recovered: number }> {
    const dataDir = path.resolve(o.dataDir);
    await fsp.mkdir(dataDir, { recursive: true });
    for (const sub of ['sandboxes', 'codebases', 'state', 'run']) {
      await fsp.mkdir(path.join(dataDir, sub), { recursive: true });
    }
    await fsp.chmod(dataDir, 0o711);
    await fsp.chmod(path.join(dataDir, 'sandboxes'), 0o711);
    await fsp.chmod(path.join(dataDir, 'codebases'), 0o700);
    await fsp.chmod(path.join(dataDir, 'state'), 0o700);
    await fsp.chmod(path.join(dataDir, 'run'), 0o755);
    // Premounted fs hosts' mount points (see FsHostPool); emptied below once stale mounts are gone.
    const premountDir = path.join(dataDir, 'run', 'fs-pool');
    await fsp.mkdir(premountDir, { recursive: true });
    await fsp.chmod(premountDir, 0o711);
    const compileCacheDir = path.join(dataDir, 'run', 'compile-cache');
    await fsp.mkdir(compileCacheDir, { recursive: true, mode: 0o700 });
    // In parallel with the checks below; a cache that could not be filled is not used (see
    // warmCompileCache: hosts must not write into the data dir late).
    const warming = warmCompileCache(compileCacheDir);
    let host, recovered;
    try {
      await checkTraversable(path.join(dataDir, 'sandboxes'));
      host = await requireHost({ runtimeDir: path.join(dataDir, 'run') });
      await checkTraversable(premountDir);
      await cleanupStaleMounts({ mountRoot: path.join(dataDir, 'sandboxes') });
      await cleanupStaleMounts({ mountRoot: premountDir });
      await clearPremountDir(premountDir);
      recovered = await recoverAll({ stateDir: path.join(dataDir, 'state') });
    } finally {
      await warming;
    }
    // Sandbox processes are started by a small process of ours: a fork of this one blocks the
    // event loop for ~12 ms (see spawner/main.ts).
    const spawner = new RemoteSpawner({ setprivPath: host.layout.setprivPath });
    spawner.start();
    const ctx: NodeContext = {
      host,
      cgroups: createCgroupDriver(
        host.cgroup,
        o.nodeId === undefined ? {} : { parent: `cordon/${o.nodeId}` },
      ),
      spawner,
      hub: new CodebaseHub(),
      commits: new CommitQueue(),
      stateDir: path.join(dataDir, 'state'),
      fsHosts: new FsHostPool({
        premountDir,
        ...((await warming) ? { compileCacheDir } : {}),
        ...(o.fsHostStandby === undefined ? {} : { standby: o.fsHostStandby }),
      }),
    };
    return {
      runtime: new NodeRuntime(o, dataDir, ctx),
      recovered: recovered.filter((r) => r.action !== 'none').length,
    };
  }

  get(sandboxId: string): HeldSandbox | undefined {
    return this.#held.get(sandboxId);
  }

  held(): HeldSandbox[] {
    return [...this.#held.values()];
  }

  #dirOf(sandboxId: string): string {
    return path.join(this.#sandboxesDir, sandboxId);
  }

  /** Mounts and opens a sandbox (new, or recovered from its sandbox.json and delta). */
  async open(spec: SandboxSpec): Promise<HeldSandbox> {
    const existing = this.#held.get(spec.sandboxId);
    if (existing) return existing;
    const policy = compileCanonical(spec.policy.canonical, spec.policy.hash);
    const dir = this.#dirOf(spec.sandboxId);
    // The spec is written while the codebase is looked up (a missing codebase fails the create,
    // whose caller then destroys the sandbox's directory).
    const [codebase] = await Promise.all([
      this.codebases.get(spec.codebaseId),
      (async () => {
        await fsp.mkdir(dir, { recursive: true });
        await fsp.chmod(dir, 0o711);
        const file = path.join(dir, 'sandbox.json');
        await fsp.writeFile(`${file}.tmp`, JSON.stringify(spec), { mode: 0o600 });
        await fsp.rename(`${file}.tmp`, file);
      })(),
    ]);
    if (!codebase) {
      throw new WorkerError(
        'NOT_FOUND',
        `codebase ${spec.codebaseId} is not on this node; create the sandbox on the codebase's home node`,
      );
    }
    const uid = this.#uids.acquire();
    try {
      const sandbox = await Sandbox.create(
        {
          sandboxId: spec.sandboxId,
          codebaseDir: codebase.dir,
          sandboxDir: dir,
          policy,
          uid,
          gid: uid,
          network: spec.network,
          strict: spec.strict,
          limits: {
            memoryBytes: spec.limits.memoryBytes,
            cpuMillicores: spec.limits.cpuMillicores,
            pids: spec.limits.pids,
            outputBytes: spec.limits.outputBytes,
          },
          quotaBytes: spec.quotaBytes,
          commit: spec.commit,
          commitMode: spec.commitMode,
          onDenial: (e) => this.#o.onDenial(spec, e),
        },
        this.ctx,
      );
      const held: HeldSandbox = { spec, sandbox, uid, lastActiveMs: Date.now() };
      this.#held.set(spec.sandboxId, held);
      return held;
    } catch (err) {
      this.#uids.release(uid);
      throw err;
    }
  }

  /**
   * A create was reported (ready or failed): background work held back so as not to delay that
   * report starts now (the fs-host pool's refill).
   */
  afterCreate(): void {
    this.ctx.fsHosts?.replenish();
  }

  /** Specs of sandboxes on disk (for recovery after a restart). */
  async persisted(): Promise<SandboxSpec[]> {
    const ids = await fsp.readdir(this.#sandboxesDir).catch(() => [] as string[]);
    const out: SandboxSpec[] = [];
    for (const id of ids.sort()) {
      try {
        const raw = await fsp.readFile(path.join(this.#dirOf(id), 'sandbox.json'), 'utf8');
        out.push(SandboxSpecSchema.parse(JSON.parse(raw)));
      } catch {
        // No spec: a create that died before writing it; nothing to recover.
        await fsp.rm(this.#dirOf(id), { recursive: true, force: true });
      }
    }
    return out;
  }

  /** Unmounts (if held) and deletes the sandbox's files, and its scratch codebase. */
  async destroy(sandboxId: string, spec?: SandboxSpec): Promise<void> {
    const running = this.#destroying.get(sandboxId);
    if (running) return running;
    const p = this.#destroyNow(sandboxId, spec).finally(() => this.#destroying.delete(sandboxId));
    this.#destroying.set(sandboxId, p);
    return p;
  }

  async #destroyNow(sandboxId: string, spec?: SandboxSpec): Promise<void> {
    const held = this.#held.get(sandboxId);
    this.#held.delete(sandboxId);
    if (held) {
      await held.sandbox.destroy();
      this.#uids.release(held.uid);
    } else {
      // Not mounted by this run (destroyed while the agent was down, or lost): its cgroup, with
      // the leaves of execs and standbys the previous run left, is still there.
      await this.ctx.cgroups.removeSandbox(sandboxId).catch(() => undefined);
    }
    await fsp.rm(this.#dirOf(sandboxId), { recursive: true, force: true });
    const s = held?.spec ?? spec;
    if (s?.scratch) await this.codebases.delete(s.codebaseId);
  }

  /**
   * Removes the sandbox cgroups under this node's parent that no sandbox it holds owns: a killed
   * run's, kept by no record any more (its sandboxes are re-opened or destroyed before this).
   * Only meaningful with `nodeId` (otherwise the parent is shared with other agents): a no-op
   * without it. Returns how many were removed.
   */
  async removeStrayCgroups(): Promise<number> {
    if (this.#o.nodeId === undefined) return 0;
    let removed = 0;
    for (const id of await this.ctx.cgroups.listSandboxes()) {
      if (this.#held.has(id)) continue;
      // One that cannot be emptied (a task stuck in D state) is left; the next start tries again.
      if (
        await this.ctx.cgroups.removeSandbox(id).then(
          () => true,
          () => false,
        )
      )
        removed++;
    }
    return removed;
  }

  /** Unmounts every sandbox but keeps their files, so a restarted agent recovers them. */
  async close(): Promise<void> {
    for (const h of this.#held.values()) {
      await h.sandbox.destroy().catch(() => undefined);
      this.#uids.release(h.uid);
    }
    this.#held.clear();
    await this.ctx.fsHosts?.close();
    await this.ctx.spawner?.close();
  }
}
