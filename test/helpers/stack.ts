import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalStack, type LocalStack } from '@cordon/cli';
import { NotFoundError, createCordon, type Cordon } from '@cordon/client';

export interface TestStack {
  readonly stack: LocalStack;
  readonly cordon: Cordon;
  readonly dir: string;
  /** Env for the real `cordon` binary pointing at this stack. */
  readonly env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** redis-server on a unix socket in a temp dir, a gateway on a free port, one node agent child. */
export async function startTestStack(): Promise<TestStack> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cordon-e2e-'));
  // Sandboxes run as unprivileged uids and must reach the node's data dir below this one.
  await chmod(dir, 0o711);
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      dataDir: path.join(dir, 'state'),
      port: 0,
      nodes: 1,
      writeClusterFile: false,
      logLevel: 'warn',
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const cordon = createCordon({ url: stack.url, token: stack.token });
  return {
    stack,
    cordon,
    dir,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: dir,
      CORDON_URL: stack.url,
      CORDON_TOKEN: stack.token,
    },
    async close() {
      await cordon.close();
      await stack.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Whether the gateway routes `procedure`: an unknown path answers NOT_FOUND, a known one rejects
 * the empty input with BAD_REQUEST (or answers).
 */
export async function hasProcedure(
  cordon: Cordon,
  procedure: string,
  kind: 'query' | 'mutation',
): Promise<boolean> {
  try {
    await (kind === 'query' ? cordon.query(procedure, {}) : cordon.mutation(procedure, {}));
    return true;
  } catch (err) {
    return !(err instanceof NotFoundError);
  }
}

/**
 * Whether a tar upload into a new codebase completes (the gateway's PUT route plus the home node's
 * transfer job). Creates a one-file codebase, deletes it again.
 */
export async function uploadWorks(t: TestStack, timeoutMs = 8_000): Promise<boolean> {
  let id: string | null = null;
  try {
    const cb = (await t.cordon.mutation('codebases.create', { source: { kind: 'upload' } })) as {
      id: string;
      uploadPath: string;
    };
    id = cb.id;
    const empty = Buffer.alloc(1024); // a tar of nothing: two zero blocks
    const res = await fetch(new URL(cb.uploadPath, t.stack.url), {
      method: 'PUT',
      headers: { authorization: `Bearer ${t.stack.token}` },
      body: empty,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return res.ok;
  } catch {
    return false;
  } finally {
    if (id) await t.cordon.mutation('codebases.delete', { codebaseId: id }).catch(() => undefined);
  }
}
