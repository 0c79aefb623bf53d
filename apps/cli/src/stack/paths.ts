import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** `$CORDON_HOME`, else `$XDG_STATE_HOME/cordon`, else `~/.cordon`: where `cordon up` keeps its state. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['CORDON_HOME']) return path.resolve(env['CORDON_HOME']);
  if (env['XDG_STATE_HOME']) return path.join(env['XDG_STATE_HOME'], 'cordon');
  return path.join(homedir(), '.cordon');
}

export function clusterFile(dataDir: string): string {
  return path.join(dataDir, 'cluster.json');
}

/** Entry points of the services, found through the workspace packages (no build step). */
export function gatewayMain(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.resolve('@cordon/gateway'))), 'main.ts');
}

export function nodeAgentMain(): string {
  return path.join(
    path.dirname(fileURLToPath(import.meta.resolve('@cordon/node-agent'))),
    'worker',
    'main.ts',
  );
}
