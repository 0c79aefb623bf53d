import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface Lock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `file` (created exclusively, holding this PID) or answers the PID of the live process
 * that holds it. A lock whose process is gone is stale and taken over. Unlike cluster.json (written
 * once the stack is up), it also covers the seconds a `cordon up` spends starting.
 */
export async function acquirePidLock(file: string): Promise<Lock | { heldBy: number }> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return { release: () => rm(file, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
      return { heldBy: holder };
    }
    // Stale (its process is gone) or half-written: remove it and try again.
    await rm(file, { force: true });
  }
  throw new Error(`could not take the lock ${file}`);
}
