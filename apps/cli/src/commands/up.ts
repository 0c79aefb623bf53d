import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseRedisUrl } from '@cordon/protocol';
import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import { cwdOf, envOf, type Io } from '../io.ts';
import { clusterFile, defaultDataDir } from '../stack/paths.ts';
import { startLocalStack, type LocalStackOptions } from '../stack/local-stack.ts';
import { acquirePidLock } from '../stack/lock.ts';
import { parseCount } from '../units.ts';
import { collect } from '../flags.ts';

interface UpFlags {
  readonly port: string;
  readonly dataDir?: string;
  readonly nodes: string;
  readonly redisUrl?: string;
  readonly allowPath?: string[];
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
      if (redisUrl !== undefined) {
        try {
          parseRedisUrl(redisUrl);
        } catch (err) {
          throw new CliError('USAGE', `--redis-url ${(err as Error).message}`);
        }
      }
      const dataDir = path.resolve(cwdOf(io), f.dataDir ?? defaultDataDir(env));
      const lock = await acquirePidLock(path.join(dataDir, 'up.lock'));
      if ('heldBy' in lock) {
        const prev = (await readFile(clusterFile(dataDir), 'utf8')
          .then((t) => JSON.parse(t) as { url?: unknown })
          .catch(() => null)) ?? { url: undefined };
        const where = typeof prev.url === 'string' ? `, ${prev.url}` : ', still starting';
        throw new CliError(
          'CORDON',
          `a stack already runs from ${dataDir} (pid ${lock.heldBy}${where}); stop it first, or give another --data-dir`,
        );
      }
      try {
        await serve(io, dataDir, {
          dataDir,
          port,
          nodes,
          ...(redisUrl ? { redisUrl } : {}),
          ...(f.allowPath?.length
            ? { allowPaths: f.allowPath.map((p) => path.resolve(cwdOf(io), p)) }
            : {}),
          onStep: (l) => io.stderr(`  ${l}\n`),
        });
      } finally {
        await lock.release();
      }
    });
}

/**
 * Starts the stack, waits for SIGINT/SIGTERM (or a child's death), stops it. The signal handlers
 * are installed before anything starts and stay until everything stopped: a signal while starting
 * stops the stack as soon as it is up (or has failed), and a second Ctrl-C while stopping must not
 * kill this process and orphan the children it is stopping (each gets at most 10 s).
 */
async function serve(io: Io, dataDir: string, options: LocalStackOptions): Promise<void> {
  let stopping = false;
  let stopFor: (why: { reason: string; clean: boolean }) => void = () => undefined;
  const stopRequested = new Promise<{ reason: string; clean: boolean }>((r) => (stopFor = r));
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) io.stderr(`cordon: ${sig}: still stopping, please wait…\n`);
    stopFor({ reason: sig, clean: true });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const stack = await startLocalStack(options).catch((err: unknown) => {
      throw new CliError('CORDON', `could not start the stack: ${(err as Error).message}`);
    });
    io.stderr(
      `cordon is up at ${stack.url}\n  cluster file: ${clusterFile(dataDir)} (url and admin token)\n  logs: ${path.join(dataDir, 'logs')}\n  try: cordon run --preset agent-safe -- ls -la\n`,
    );
    io.stdout(`${stack.url}\n`);
    for (const c of stack.children) {
      void c.exited.then(({ code, signal }) =>
        // Ctrl-C in a terminal signals the whole process group: a child may stop (code 0, or by
        // SIGINT/SIGTERM) before this process sees its own SIGINT. That is a stop, not a crash.
        stopFor(
          code === 0 || signal === 'SIGINT' || signal === 'SIGTERM'
            ? { reason: `${c.name} stopped`, clean: true }
            : {
                reason: `${c.name} (pid ${c.pid}) exited (${signal ?? `code ${code}`})`,
                clean: false,
              },
        ),
      );
    }
    const { reason, clean } = await stopRequested;
    stopping = true;
    io.stderr(`cordon: stopping (${reason})…\n`);
    await stack.stop();
    io.stderr('cordon: stopped\n');
    if (!clean) throw new CliError('CORDON', `${reason}; see ${path.join(dataDir, 'logs')}`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
