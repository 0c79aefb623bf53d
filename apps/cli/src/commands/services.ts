import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseRedisUrl, type RedisConnection } from '@cordon/protocol';
import type { Command } from 'commander';
import { CliError, ExitCode } from '../errors.ts';
import { collect } from '../flags.ts';
import { cwdOf, envOf, type Io } from '../io.ts';
import { gatewayMain, nodeAgentMain } from '../stack/paths.ts';
import { awaitGroupGone } from '../stack/process-group.ts';
import { probeRedis } from '../stack/redis.ts';
import { parseCount } from '../units.ts';

/** Runs a service entry point in the foreground, forwarding Ctrl-C/SIGTERM, and exits with it. */
async function runService(main: string, env: NodeJS.ProcessEnv): Promise<void> {
  // Its own process group: a terminal's Ctrl-C reaches only this process, which forwards it once.
  // In the terminal's group the service would get SIGINT twice (from the terminal and forwarded);
  // its handler is `process.once`, so the second one would kill it in the middle of its graceful
  // stop (a node agent leaving its FUSE mounts behind).
  const child = spawn(process.execPath, [main], { env, stdio: 'inherit', detached: true });
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
  try {
    // Its helpers (a node agent's FUSE servers) may still be unmounting: exit after them.
    if (child.pid !== undefined && (await awaitGroupGone(child.pid, 10_000)) > 0)
      throw new CliError(
        'CORDON',
        'processes of the service did not stop within 10 s after it exited; killed them',
      );
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  if (code !== 0) throw new ExitCode(code);
}

/** Node agent settings without a flag of their own, passed through from the environment. */
const NODE_TUNING_ENV = [
  'CORDON_HEARTBEAT_MS',
  'CORDON_HEARTBEAT_TTL_MS',
  'CORDON_UID_BASE',
  'CORDON_UID_COUNT',
  'CORDON_FS_HOST_STANDBY',
  'CORDON_DRAIN_MS',
] as const;

function pick(env: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v !== '') out[n] = v;
  }
  return out;
}

/** A setting from its flag, else its environment variable; `label` names where it came from. */
interface Setting {
  readonly value: string | undefined;
  readonly label: string;
}

function setting(
  flagValue: unknown,
  flagName: string,
  env: NodeJS.ProcessEnv,
  ...envNames: string[]
): Setting {
  if (typeof flagValue === 'string') return { value: flagValue, label: flagName };
  for (const name of envNames) {
    const v = env[name];
    if (v !== undefined && v !== '') return { value: v, label: name };
  }
  return { value: undefined, label: flagName };
}

/**
 * The Redis settings of a service, checked before it starts: a service started against a Redis
 * that does not answer would retry forever and print a stack per attempt.
 */
async function redisEnv(url: Setting, socket: Setting): Promise<Record<string, string>> {
  if (socket.value) {
    const why = await probeRedis(socket.value);
    if (why !== null)
      throw new CliError(
        'CORDON',
        `${socket.label} ${socket.value}: no Redis answers there (${why}); start redis-server with --unixsocket or fix the path`,
      );
    return { CORDON_REDIS_PATH: socket.value };
  }
  if (!url.value)
    throw new CliError(
      'USAGE',
      'no Redis: give --redis-url (or CORDON_REDIS_URL), e.g. redis://127.0.0.1:6379, or --redis-socket (CORDON_REDIS_PATH)',
    );
  let conn: RedisConnection;
  try {
    conn = parseRedisUrl(url.value);
  } catch (err) {
    throw new CliError('USAGE', `${url.label} ${(err as Error).message}`);
  }
  // A TLS port would not answer a plain PING; the service reports a bad rediss:// itself.
  if ('host' in conn && !conn.tls) {
    const why = await probeRedis(
      { host: conn.host, port: conn.port },
      { hasPassword: conn.password !== undefined },
    );
    if (why !== null)
      throw new CliError(
        'CORDON',
        `${url.label} ${url.value}: no Redis answers there (${why}); start it first or fix the url`,
      );
  }
  return { CORDON_REDIS_URL: url.value };
}

function clusterToken(s: Setting): string {
  if (!s.value)
    throw new CliError(
      'USAGE',
      'no cluster token: give --cluster-token or CORDON_CLUSTER_TOKEN (e.g. `openssl rand -hex 32`), the same on the gateway and every node',
    );
  if (s.value.length < 16)
    throw new CliError(
      'USAGE',
      `${s.label}: must be at least 16 characters (e.g. \`openssl rand -hex 32\`)`,
    );
  return s.value;
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
      const portS = setting(f['port'], '--port', env, 'CORDON_PORT');
      const port = parseCount(portS.label, portS.value ?? '7420', 0, 65535);
      const adminS = setting(f['adminToken'], '--admin-token', env, 'CORDON_ADMIN_TOKEN');
      const admin = adminS.value;
      if (admin !== undefined && admin.length < 16)
        throw new CliError('USAGE', `${adminS.label}: must be at least 16 characters`);
      const pubS = setting(
        f['publicClusterUrl'],
        '--public-cluster-url',
        env,
        'CORDON_PUBLIC_CLUSTER_URL',
      );
      const pub = pubS.value;
      if (pub !== undefined && !/^wss?:\/\/\S+$/.test(pub))
        throw new CliError(
          'USAGE',
          `${pubS.label} ${pub}: write e.g. ws://gw1.internal:7420/cluster`,
        );
      const host = setting(f['host'], '--host', env, 'CORDON_HOST').value ?? '127.0.0.1';
      const cluster = clusterToken(
        setting(f['clusterToken'], '--cluster-token', env, 'CORDON_CLUSTER_TOKEN'),
      );
      const redis = await redisEnv(
        setting(f['redisUrl'], '--redis-url', env, 'CORDON_REDIS_URL'),
        setting(f['redisSocket'], '--redis-socket', env, 'CORDON_REDIS_PATH'),
      );
      await runService(gatewayMain(), {
        PATH: env['PATH'] ?? '/usr/bin:/bin',
        ...(env['CORDON_LOG_LEVEL'] ? { CORDON_LOG_LEVEL: env['CORDON_LOG_LEVEL'] } : {}),
        ...redis,
        CORDON_CLUSTER_TOKEN: cluster,
        CORDON_PORT: String(port),
        CORDON_HOST: host,
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
      'host directory usable in place as a codebase (repeatable; env CORDON_ALLOW_PATHS, ":"-separated; default none: uploads only)',
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
      const idS = setting(f['id'], '--id', env, 'CORDON_NODE_ID');
      const id = idS.value ?? os.hostname();
      if (!/^[A-Za-z0-9][\w.-]{0,63}$/.test(id))
        throw new CliError(
          'USAGE',
          `${idS.label} ${id}: use letters, digits, '.', '_' or '-' (at most 64)`,
        );
      const capS = setting(f['capacity'], '--capacity', env, 'CORDON_CAPACITY');
      const capacity = parseCount(capS.label, capS.value ?? '4', 1, 1024);
      const allow = [
        ...((f['allowPath'] as string[] | undefined) ?? []),
        ...(env['CORDON_ALLOW_PATHS'] ?? '').split(':').filter(Boolean),
      ].map((p) => path.resolve(cwdOf(io), p));
      const cluster = clusterToken(
        setting(f['clusterToken'], '--cluster-token', env, 'CORDON_CLUSTER_TOKEN', 'CORDON_TOKEN'),
      );
      const dataDir = path.resolve(
        cwdOf(io),
        setting(f['dataDir'], '--data-dir', env, 'CORDON_DATA_DIR').value ?? '/var/lib/cordon',
      );
      const gw = setting(f['gatewayUrl'], '--gateway-url', env, 'CORDON_GATEWAY_URL');
      let gwUrl: URL | null = null;
      if (gw.value !== undefined) {
        try {
          gwUrl = new URL(gw.value);
        } catch {
          gwUrl = null;
        }
        if (!gwUrl || !/^(https?|wss?):$/.test(gwUrl.protocol))
          throw new CliError(
            'USAGE',
            `${gw.label} ${gw.value}: not a gateway URL; write e.g. http://gw1.internal:7420`,
          );
      }
      const redis = await redisEnv(
        setting(f['redisUrl'], '--redis-url', env, 'CORDON_REDIS_URL'),
        setting(f['redisSocket'], '--redis-socket', env, 'CORDON_REDIS_PATH'),
      );
      if (gwUrl) {
        const origin = gwUrl.origin.replace(/^ws/, 'http');
        const ok = await fetch(new URL('/healthz', origin), {
          signal: AbortSignal.timeout(5_000),
        }).then(
          (r) => r.ok,
          () => false,
        );
        if (!ok)
          throw new CliError(
            'CORDON',
            `${gw.label} ${gw.value}: no gateway answers /healthz there; start it first or fix the url`,
          );
      }
      await runService(nodeAgentMain(), {
        PATH: env['PATH'] ?? '/usr/bin:/bin',
        ...(env['CORDON_LOG_LEVEL'] ? { CORDON_LOG_LEVEL: env['CORDON_LOG_LEVEL'] } : {}),
        ...redis,
        CORDON_CLUSTER_TOKEN: cluster,
        CORDON_NODE_ID: id,
        CORDON_DATA_DIR: dataDir,
        CORDON_CAPACITY: String(capacity),
        ...(allow.length ? { CORDON_ALLOW_PATHS: allow.join(':') } : {}),
        // Tuning the agent reads itself (validated there); passed through as given.
        ...pick(env, NODE_TUNING_ENV),
      });
    });
}
