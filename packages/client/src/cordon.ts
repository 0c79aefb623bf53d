import type { NodeInfo, SandboxRecord } from '@cordon/protocol';
import { toCordonError } from './errors.ts';
import { ExecHandle } from './exec-handle.ts';
import { codebaseForLocal } from './local/from-local.ts';
import { Sandbox } from './sandbox.ts';
import { createInputOf } from './sandbox-options.ts';
import { createTransport, type Transport, type TransportOptions } from './transport.ts';
import type { FromLocalOptions, SandboxOptions } from './types.ts';
import { deleteCodebase } from './codebases.ts';

export type CordonOptions = TransportOptions;

export interface Cordon extends AsyncDisposable {
  readonly url: string;
  readonly sandbox: {
    /** A sandbox on a fresh, empty scratch codebase (or on `codebaseId`). */
    create(o?: SandboxOptions & { codebaseId?: string }): Promise<Sandbox>;
    /** A sandbox on a local directory: the directory itself when possible, else an upload. */
    fromLocal(dir: string, o?: FromLocalOptions): Promise<Sandbox>;
    /** Re-attaches to an existing sandbox by id. */
    get(sandboxId: string): Promise<Sandbox>;
    list(o?: { limit?: number }): Promise<SandboxRecord[]>;
  };
  readonly execs: {
    /** A handle on an exec by id (e.g. from another process): stream its output, await its result. */
    attach(execId: string): ExecHandle;
  };
  nodes(): Promise<NodeInfo[]>;
  /** Calls a query by path, for procedures newer than this client's types. Errors are CordonErrors. */
  query(path: string, input?: unknown): Promise<unknown>;
  /** Calls a mutation by path, for procedures newer than this client's types. */
  mutation(path: string, input?: unknown): Promise<unknown>;
  health(): Promise<{ ok: boolean; version: string; nodesUp: number }>;
  /** The typed tRPC client, for procedures the friendly layer does not wrap. */
  readonly trpc: Transport['trpc'];
  /** Closes the websocket. Sandboxes stay; close them first if they should go. */
  close(): Promise<void>;
}

/**
 * Connects to a Cordon gateway.
 * ```ts
 * await using cordon = createCordon({ url: 'http://127.0.0.1:7420', token })
 * await using sb = await cordon.sandbox.fromLocal('./project', { preset: 'agent-safe' })
 * const r = await sb.run('pytest -q', { timeoutMs: 60_000 })
 * ```
 */
export function createCordon(o: CordonOptions): Cordon {
  const t = createTransport(o);
  const call = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (err) {
      throw toCordonError(err, t.endpoints.origin);
    }
  };
  const create = async (o: SandboxOptions & { codebaseId?: string } = {}): Promise<Sandbox> => {
    const rec = await call(t.trpc.sandboxes.create.mutate(createInputOf(o, o.codebaseId)));
    return new Sandbox(t, rec, null);
  };
  return {
    url: t.endpoints.origin,
    trpc: t.trpc,
    sandbox: {
      create,
      async fromLocal(dir, fo = {}) {
        const local = await codebaseForLocal(t, dir, fo);
        try {
          const rec = await call(
            t.trpc.sandboxes.create.mutate(createInputOf(fo, local.codebaseId)),
          );
          return new Sandbox(t, rec, local);
        } catch (err) {
          await deleteCodebase(t, local.codebaseId).catch(() => undefined);
          throw err;
        }
      },
      async get(sandboxId) {
        const rec = await call(t.trpc.sandboxes.get.query({ sandboxId }));
        return new Sandbox(t, rec, null);
      },
      list: (lo = {}) => call(t.trpc.sandboxes.list.query({ limit: lo.limit ?? 100 })),
    },
    execs: { attach: (execId) => new ExecHandle(t, Promise.resolve(execId)) },
    nodes: () => call(t.trpc.nodes.list.query()),
    query: (path, input) => call(t.untyped.query(path, input)),
    mutation: (path, input) => call(t.untyped.mutation(path, input)),
    health: () => call(t.trpc.health.query()),
    close: () => t.close(),
    [Symbol.asyncDispose]: () => t.close(),
  };
}
