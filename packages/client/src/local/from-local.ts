import { realpath, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import {
  createCodebase,
  deleteCodebase,
  getCodebase,
  uploadTar,
  type CodebaseInfo,
} from '../codebases.ts';
import {
  BadRequestError,
  CordonError,
  ForbiddenError,
  LocalIoError,
  NotFoundError,
  TimeoutError,
  toCordonError,
} from '../errors.ts';
import type { LocalBinding } from '../sandbox.ts';
import type { Transport } from '../transport.ts';
import type { FromLocalOptions } from '../types.ts';
import { packDirectory } from './pack.ts';

async function resolveDir(dir: string): Promise<string> {
  try {
    const abs = await realpath(dir);
    if (!(await stat(abs)).isDirectory()) throw new Error('not a directory');
    return abs;
  } catch (err) {
    throw new LocalIoError(
      'LOCAL_IO',
      `fromLocal: ${dir} is not a readable directory (${(err as Error).message}); pass the project's directory`,
      { cause: err },
    );
  }
}

function covers(prefix: string, dir: string): boolean {
  const p = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return dir === prefix || dir.startsWith(p) || prefix === '/';
}

/**
 * Node agents that are up on this machine (same hostname, so a host path names this very
 * directory) and whose allow-list covers `dir`.
 */
async function localNodes(t: Transport, dir: string): Promise<string[]> {
  const nodes = await t.trpc.nodes.list.query().catch((err: unknown) => {
    throw toCordonError(err, t.endpoints.origin);
  });
  const me = hostname();
  return nodes
    .filter((n) => n.status === 'up' && n.host === me)
    .filter((n) => {
      const allow = (n as { allowPaths?: readonly string[] }).allowPaths;
      return allow === undefined || allow.some((p) => covers(p, dir));
    })
    .map((n) => n.id);
}

async function tryHostPath(
  t: Transport,
  dir: string,
  force: boolean,
): Promise<CodebaseInfo | null> {
  const nodes = await localNodes(t, dir);
  if (nodes.length === 0) {
    if (force)
      throw new CordonError(
        'BAD_REQUEST',
        `mode 'host-path': no node agent on this host (${hostname()}) allows ${dir}; start one here (cordon up, or cordon node --allow-path DIR) or use mode 'upload'`,
      );
    return null;
  }
  let last: CordonError | null = null;
  for (const nodeId of nodes) {
    try {
      return await createCodebase(t, { kind: 'path', path: dir, nodeId });
    } catch (err) {
      // The node does not allow this path: another local node might, else upload.
      if (
        err instanceof ForbiddenError ||
        err instanceof BadRequestError ||
        err instanceof NotFoundError
      ) {
        last = err;
        continue;
      }
      throw err;
    }
  }
  if (force && last) throw last;
  return null;
}

async function waitReady(t: Transport, cb: CodebaseInfo, timeoutMs: number): Promise<CodebaseInfo> {
  const deadline = Date.now() + timeoutMs;
  let cur = cb;
  while (cur.state === 'creating') {
    if (Date.now() > deadline)
      throw new TimeoutError(
        'TIMEOUT',
        `codebase ${cb.id} is still being created after ${timeoutMs} ms; check the node agent's logs`,
      );
    await new Promise((r) => setTimeout(r, 50));
    cur = await getCodebase(t, cb.id);
  }
  if (cur.state !== 'ready')
    throw new CordonError(
      'INTERNAL',
      `codebase ${cb.id} ended up ${cur.state}; check the node agent's logs`,
    );
  return cur;
}

/**
 * The codebase for a local directory: the directory itself when a node agent on this host accepts
 * the path (commits land in it), else an uploaded copy (pull() brings changes back).
 */
export async function codebaseForLocal(
  t: Transport,
  dir: string,
  o: FromLocalOptions,
): Promise<LocalBinding> {
  const abs = await resolveDir(dir);
  const mode = o.mode ?? 'auto';
  const ignore = o.ignore ?? [];
  if (mode !== 'upload') {
    const cb = await tryHostPath(t, abs, mode === 'host-path');
    if (cb) {
      await waitReady(t, cb, 30_000);
      return { dir: abs, codebaseId: cb.id, mode: 'path', owned: true, ignore };
    }
  }
  const cb = await createCodebase(t, { kind: 'upload' });
  try {
    const body = await packDirectory(abs, {
      ignore,
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    await uploadTar(t, cb, body);
    await waitReady(t, await getCodebase(t, cb.id), 60_000);
  } catch (err) {
    await deleteCodebase(t, cb.id).catch(() => undefined);
    throw err;
  }
  return { dir: abs, codebaseId: cb.id, mode: 'upload', owned: true, ignore };
}
