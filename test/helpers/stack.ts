import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalStack, type LocalStack } from '@cordon/cli';
import { createCordon, type Cordon } from '@cordon/client';

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
