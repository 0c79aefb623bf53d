import { readFile } from 'node:fs/promises';
import { createCordon, type Cordon } from '@cordon/client';
import { CliError } from './errors.ts';
import { clusterFile, defaultDataDir } from './stack/paths.ts';
import { startLocalStack, type ClusterInfo, type LocalStack } from './stack/local-stack.ts';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Connection {
  readonly cordon: Cordon;
  /** Where the connection came from, for messages. */
  readonly source: 'env' | 'local' | 'ephemeral';
  readonly url: string;
  /** Closes the client (and tears an ephemeral stack down). */
  close(): Promise<void>;
}

async function readCluster(dataDir: string): Promise<ClusterInfo | null> {
  try {
    const info = JSON.parse(await readFile(clusterFile(dataDir), 'utf8')) as Partial<ClusterInfo>;
    if (typeof info.url !== 'string' || typeof info.token !== 'string') return null;
    return info as ClusterInfo;
  } catch {
    return null;
  }
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface ConnectOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Start a throwaway stack when nothing is configured or running (`cordon run`). */
  readonly ephemeral?: boolean;
  readonly onStep?: (line: string) => void;
}

/**
 * CORDON_UNAVAILABLE_AFTER_MS: how long the gateway may be unreachable before a command waiting
 * on it fails (exit 125). Unset: the client's default (30 s).
 */
function unavailableAfterOf(env: NodeJS.ProcessEnv): { unavailableAfterMs?: number } {
  const v = env['CORDON_UNAVAILABLE_AFTER_MS'];
  if (v === undefined || v === '') return {};
  const ms = Number(v);
  if (!/^\d+$/.test(v) || ms <= 0) {
    throw new CliError(
      'USAGE',
      `CORDON_UNAVAILABLE_AFTER_MS must be a positive number of milliseconds, e.g. 30000 (got ${JSON.stringify(v)})`,
    );
  }
  return { unavailableAfterMs: ms };
}

/**
 * CORDON_URL + CORDON_TOKEN when set; else the `cordon up` of the default data dir when it runs;
 * else (only if `ephemeral`) a throwaway local stack torn down by close().
 */
export async function connect(o: ConnectOptions): Promise<Connection> {
  const tuning = unavailableAfterOf(o.env);
  const url = o.env['CORDON_URL'];
  const token = o.env['CORDON_TOKEN'];
  if (url || token) {
    if (!url || !token) {
      throw new CliError(
        'USAGE',
        `set both CORDON_URL and CORDON_TOKEN (only ${url ? 'CORDON_URL' : 'CORDON_TOKEN'} is set)`,
      );
    }
    let cordon: Cordon;
    try {
      cordon = createCordon({ url, token, ...tuning });
    } catch (err) {
      throw new CliError('USAGE', `CORDON_URL: ${(err as Error).message}`);
    }
    return { cordon, source: 'env', url: cordon.url, close: () => cordon.close() };
  }
  const dataDir = defaultDataDir(o.env);
  const info = await readCluster(dataDir);
  if (info && alive(info.pid)) {
    const cordon = createCordon({ url: info.url, token: info.token, ...tuning });
    return { cordon, source: 'local', url: info.url, close: () => cordon.close() };
  }
  if (!o.ephemeral) {
    throw new CliError(
      'CORDON',
      `no Cordon gateway: set CORDON_URL and CORDON_TOKEN, or start a local stack with \`cordon up\` (looked for ${clusterFile(dataDir)})`,
    );
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'cordon-ephemeral-'));
  await chmod(dir, 0o711);
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      dataDir: dir,
      port: 0,
      nodes: 1,
      writeClusterFile: false,
      logLevel: 'warn',
      ...(o.onStep ? { onStep: o.onStep } : {}),
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new CliError('CORDON', `could not start a local stack: ${(err as Error).message}`);
  }
  const cordon = createCordon({ url: stack.url, token: stack.token, ...tuning });
  return {
    cordon,
    source: 'ephemeral',
    url: stack.url,
    async close() {
      await cordon.close();
      await stack.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
