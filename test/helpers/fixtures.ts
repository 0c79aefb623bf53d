import { chmod, cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const EXAMPLE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'examples',
  'project',
);

/**
 * A copy of examples/project (which has .env and secrets/) in `parent`, with more things an
 * agent must not see: .git/, credentials.json, a nested .env.local.
 */
export async function exampleProject(parent: string): Promise<string> {
  const dir = await mkdtemp(path.join(parent, 'proj-'));
  await cp(EXAMPLE, dir, { recursive: true });
  await mkdir(path.join(dir, '.git'));
  await writeFile(path.join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  await writeFile(path.join(dir, 'credentials.json'), '{}\n');
  await mkdir(path.join(dir, 'src', 'deep'));
  await writeFile(path.join(dir, 'src', 'deep', '.env.local'), 'X=1\n');
  // Sandboxes run as unprivileged uids: the codebase must be readable by them.
  await chmod(dir, 0o755);
  return dir;
}
