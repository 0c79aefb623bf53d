import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import { cwdOf, envOf, type Io } from '../io.ts';
import { clusterFile, defaultDataDir } from '../stack/paths.ts';
import { startLocalStack } from '../stack/local-stack.ts';
import { parseCount } from '../units.ts';
import { collect } from '../flags.ts';

interface UpFlags {
  readonly port: string;
  readonly dataDir?: string;
  readonly nodes: string;
  readonly redisUrl?: string;
  readonly allowPath?: string[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function registerUp(program: Command, io: Io): void {
  program
    .command('up')
    .description(
      'start the all-in-one local stack: Redis, a gateway and node agents (Ctrl-C stops it)',
    )
    .option('--port <n>', 'gateway port (0 = any free port)', '7420')
    .option(
      '--data-dir <dir>',
      'state, logs and cluster.json (default $CORDON_HOME, $XDG_STATE_HOME/cordon or ~/.cordon)',
    )
    .option('--nodes <n>', 'node agents to start', '1')
    .option(
      '--redis-url <url>',
      'use this Redis instead of starting one (default $CORDON_REDIS_URL)',
    )
    .option(
      '--allow-path <dir>',
      'host directories usable in place as codebases (repeatable; default /)',
      collect,
    )
    .addHelpText(
      'after',
      `
Writes DATA_DIR/cluster.json with { url, token } (an admin token); cordon run, exec, … find it
there. Logs go to DATA_DIR/logs/. Stops every process it started on Ctrl-C or SIGTERM.

Examples:
  $ cordon up
  $ cordon up --port 0 --nodes 2 --data-dir /tmp/cordon
  $ CORDON_REDIS_URL=redis://10.0.0.5:6379 cordon up`,
    )
    .action(async (f: UpFlags) => {
      const env = envOf(io);
      const port = parseCount('--port', f.port, 0, 65535);
      const nodes = parseCount('--nodes', f.nodes, 0, 64);
      const redisUrl = f.redisUrl ?? env['CORDON_REDIS_URL'];
      if (redisUrl !== undefined && !/^rediss?:\/\/[^\s]+$/.test(redisUrl)) {
        throw new CliError(
          'USAGE',
          `--redis-url ${redisUrl}: not a Redis URL; write e.g. redis://127.0.0.1:6379`,
        );
      }
      const dataDir = path.resolve(cwdOf(io), f.dataDir ?? defaultDataDir(env));
      try {
        const prev = JSON.parse(await readFile(clusterFile(dataDir), 'utf8')) as {
          pid?: number;
          url?: string;
        };
        if (typeof prev.pid === 'number' && prev.pid !== process.pid && alive(prev.pid)) {
          throw new CliError(
            'CORDON',
            `a stack already runs from ${dataDir} (pid ${prev.pid}, ${prev.url ?? ''}); stop it first`,
          );
        }
      } catch (err) {
        if (err instanceof CliError) throw err;
      }
      const stack = await startLocalStack({
        dataDir,
        port,
        nodes,
        ...(redisUrl ? { redisUrl } : {}),
        ...(f.allowPath?.length
          ? { allowPaths: f.allowPath.map((p) => path.resolve(cwdOf(io), p)) }
          : {}),
        onStep: (l) => io.stderr(`  ${l}\n`),
      }).catch((err: unknown) => {
        throw new CliError('CORDON', `could not start the stack: ${(err as Error).message}`);
      });
      io.stderr(
        `cordon is up at ${stack.url}\n  cluster file: ${clusterFile(dataDir)} (url and admin token)\n  logs: ${path.join(dataDir, 'logs')}\n  try: cordon run --preset agent-safe -- ls -la\n`,
      );
      io.stdout(`${stack.url}\n`);
      const reason = await new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
        for (const c of stack.children) {
          void c.exited.then(({ code, signal }) =>
            resolve(`${c.name} (pid ${c.pid}) exited (${signal ?? `code ${code}`})`),
          );
        }
      });
      io.stderr(`cordon: stopping (${reason})…\n`);
      await stack.stop();
      io.stderr('cordon: stopped\n');
      if (!reason.startsWith('SIG'))
        throw new CliError('CORDON', `${reason}; see ${path.join(dataDir, 'logs')}`);
    });
}
