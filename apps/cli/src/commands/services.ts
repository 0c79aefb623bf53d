import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { CliError, ExitCode } from '../errors.ts';
import { collect } from '../flags.ts';
import { cwdOf, envOf, type Io } from '../io.ts';
import { gatewayMain, nodeAgentMain } from '../stack/paths.ts';
import { parseCount } from '../units.ts';

/** Runs a service entry point in the foreground, forwarding Ctrl-C/SIGTERM, and exits with it. */
async function runService(main: string, env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn(process.execPath, [main], { env, stdio: 'inherit' });
  const forward = (sig: NodeJS.Signals) => () => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, sig);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const code = await new Promise<number>((resolve) =>
    child.once('exit', (c, s) => resolve(c ?? (s === 'SIGINT' || s === 'SIGTERM' ? 0 : 1))),
  );
  process.off('SIGINT', onInt);
  process.off('SIGTERM', onTerm);
  if (code !== 0) throw new ExitCode(code);
}

function redisEnv(
  url: string | undefined,
  socket: string | undefined,
  flagName: string,
): Record<string, string> {
  if (socket) return { CORDON_REDIS_PATH: socket };
  if (!url)
    throw new CliError(
      'USAGE',
      `no Redis: give ${flagName} (or CORDON_REDIS_URL), e.g. redis://127.0.0.1:6379`,
    );
  if (!/^rediss?:\/\/[^\s]+$/.test(url))
    throw new CliError(
      'USAGE',
      `${flagName} ${url}: not a Redis URL; write e.g. redis://127.0.0.1:6379`,
    );
  return { CORDON_REDIS_URL: url };
}

function clusterToken(value: string | undefined): string {
  if (!value)
    throw new CliError(
      'USAGE',
      'no cluster token: give --cluster-token or CORDON_CLUSTER_TOKEN (e.g. `openssl rand -hex 32`), the same on the gateway and every node',
    );
  if (value.length < 16)
    throw new CliError(
      'USAGE',
      '--cluster-token: must be at least 16 characters (e.g. `openssl rand -hex 32`)',
    );
  return value;
}

export function registerServices(program: Command, io: Io): void {
  program
    .command('gateway')
    .description(
      'run a gateway alone (multi-host deployments); configured by flags or CORDON_* env',
    )
    .option('--port <n>', 'port (env CORDON_PORT)', undefined)
    .option('--host <addr>', 'interface to listen on (env CORDON_HOST, default 127.0.0.1)')
    .option('--redis-url <url>', 'Redis (env CORDON_REDIS_URL)')
    .option('--redis-socket <path>', 'Redis unix socket (env CORDON_REDIS_PATH)')
    .option('--cluster-token <secret>', 'shared secret of node agents (env CORDON_CLUSTER_TOKEN)')
    .option('--admin-token <token>', 'an admin API token to install (env CORDON_ADMIN_TOKEN)')
    .option(
      '--public-cluster-url <url>',
      'ws:// address nodes dial back to (env CORDON_PUBLIC_CLUSTER_URL)',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ CORDON_CLUSTER_TOKEN=$(openssl rand -hex 32) cordon gateway --host 0.0.0.0 --redis-url redis://10.0.0.5:6379
  $ cordon gateway --port 7420 --redis-socket /run/redis.sock --cluster-token "$SECRET" --admin-token "$ADMIN"`,
    )
    .action(async (f: Record<string, string | undefined>) => {
      const env = envOf(io);
      const port = parseCount('--port', f['port'] ?? env['CORDON_PORT'] ?? '7420', 0, 65535);
      const admin = f['adminToken'] ?? env['CORDON_ADMIN_TOKEN'];
      if (admin !== undefined && admin.length < 16)
        throw new CliError('USAGE', '--admin-token: must be at least 16 characters');
      const pub = f['publicClusterUrl'] ?? env['CORDON_PUBLIC_CLUSTER_URL'];
      if (pub !== undefined && !/^wss?:\/\/\S+$/.test(pub))
        throw new CliError(
          'USAGE',
          `--public-cluster-url ${pub}: write e.g. ws://gw1.internal:7420/cluster`,
        );
      await runService(gatewayMain(), {
        PATH: env['PATH'] ?? '/usr/bin:/bin',
        ...(env['CORDON_LOG_LEVEL'] ? { CORDON_LOG_LEVEL: env['CORDON_LOG_LEVEL'] } : {}),
        ...redisEnv(
          f['redisUrl'] ?? env['CORDON_REDIS_URL'],
          f['redisSocket'] ?? env['CORDON_REDIS_PATH'],
          '--redis-url',
        ),
        CORDON_CLUSTER_TOKEN: clusterToken(f['clusterToken'] ?? env['CORDON_CLUSTER_TOKEN']),
        CORDON_PORT: String(port),
        CORDON_HOST: f['host'] ?? env['CORDON_HOST'] ?? '127.0.0.1',
        ...(admin ? { CORDON_ADMIN_TOKEN: admin } : {}),
        ...(pub ? { CORDON_PUBLIC_CLUSTER_URL: pub } : {}),
      });
    });

  program
    .command('node')
    .description('run a node agent alone (it runs the sandboxes; needs root, bwrap and FUSE)')
    .option(
      '--id <id>',
      'node id, unique in the cluster (env CORDON_NODE_ID, default the hostname)',
    )
    .option(
      '--data-dir <dir>',
      'sandboxes, deltas and managed codebases (env CORDON_DATA_DIR, default /var/lib/cordon)',
    )
    .option('--redis-url <url>', 'Redis (env CORDON_REDIS_URL)')
    .option('--redis-socket <path>', 'Redis unix socket (env CORDON_REDIS_PATH)')
    .option(
      '--cluster-token <secret>',
      'shared secret of the cluster (env CORDON_CLUSTER_TOKEN or CORDON_TOKEN)',
    )
    .option('--capacity <n>', 'execs at once (env CORDON_CAPACITY, default 4)')
    .option(
      '--allow-path <dir>',
      'host directory usable in place as a codebase (repeatable; default none: uploads only)',
      collect,
    )
    .option(
      '--gateway-url <url>',
      'check at start that this gateway answers (env CORDON_GATEWAY_URL)',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ cordon node --redis-url redis://10.0.0.5:6379 --cluster-token "$SECRET" --data-dir /var/lib/cordon
  $ CORDON_REDIS_URL=redis://10.0.0.5:6379 CORDON_CLUSTER_TOKEN="$SECRET" cordon node --allow-path /srv/repos`,
    )
    .action(async (f: Record<string, string | string[] | undefined>) => {
      const env = envOf(io);
      const str = (k: string) => (typeof f[k] === 'string' ? f[k] : undefined);
      const id = str('id') ?? env['CORDON_NODE_ID'] ?? os.hostname();
      if (!/^[A-Za-z0-9][\w.-]{0,63}$/.test(id))
        throw new CliError(
          'USAGE',
          `--id ${id}: use letters, digits, '.', '_' or '-' (at most 64)`,
        );
      const capacity = parseCount(
        '--capacity',
        str('capacity') ?? env['CORDON_CAPACITY'] ?? '4',
        1,
        1024,
      );
      const allow = ((f['allowPath'] as string[] | undefined) ?? []).map((p) =>
        path.resolve(cwdOf(io), p),
      );
      const gatewayUrl = str('gatewayUrl') ?? env['CORDON_GATEWAY_URL'];
      if (gatewayUrl !== undefined) {
        let ok = false;
        try {
          const u = new URL(gatewayUrl);
          ok = (await fetch(new URL('/healthz', u.origin), { signal: AbortSignal.timeout(5_000) }))
            .ok;
        } catch {
          ok = false;
        }
        if (!ok)
          throw new CliError(
            'CORDON',
            `--gateway-url ${gatewayUrl}: no gateway answers /healthz there; start it first or fix the url`,
          );
      }
      await runService(nodeAgentMain(), {
        PATH: env['PATH'] ?? '/usr/bin:/bin',
        ...(env['CORDON_LOG_LEVEL'] ? { CORDON_LOG_LEVEL: env['CORDON_LOG_LEVEL'] } : {}),
        ...redisEnv(
          str('redisUrl') ?? env['CORDON_REDIS_URL'],
          str('redisSocket') ?? env['CORDON_REDIS_PATH'],
          '--redis-url',
        ),
        CORDON_CLUSTER_TOKEN: clusterToken(
          str('clusterToken') ?? env['CORDON_CLUSTER_TOKEN'] ?? env['CORDON_TOKEN'],
        ),
        CORDON_NODE_ID: id,
        CORDON_DATA_DIR: path.resolve(
          cwdOf(io),
          str('dataDir') ?? env['CORDON_DATA_DIR'] ?? '/var/lib/cordon',
        ),
        CORDON_CAPACITY: String(capacity),
        ...(allow.length ? { CORDON_ALLOW_PATHS: allow.join(':') } : {}),
      });
    });
}
