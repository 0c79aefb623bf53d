// Small file helpers shared by the v1 and v2 drivers. cgroup files are written with one write()
// each (the kernel parses per write), and errors name the file so the message says what failed.
import fsp from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CgroupError, type CgroupErrorCode } from './errors.ts';

export async function writeCgroupFile(
  file: string,
  value: string,
  code: CgroupErrorCode,
): Promise<void> {
  try {
    await fsp.writeFile(file, value);
  } catch (err) {
    throw new CgroupError(
      code,
      `cannot write ${JSON.stringify(value)} to ${file}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

export async function readOptional(file: string): Promise<string | null> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch {
    return null;
  }
}

export async function readPids(procsFile: string): Promise<number[]> {
  const text = await readOptional(procsFile);
  if (text === null) return [];
  return text
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

export function signalPids(pids: readonly number[], signal: NodeJS.Signals): number {
  let n = 0;
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
      n++;
    } catch {
      // already gone
    }
  }
  return n;
}

/**
 * SIGKILLs the cgroup's processes until none is left. New children forked between reading the
 * list and the kill are caught on the next round; killed processes cannot fork, and the pids limit
 * bounds how many there can be, so this converges.
 */
export async function killUntilEmpty(procsFile: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; ; round++) {
    const pids = await readPids(procsFile);
    if (pids.length === 0) return;
    if (Date.now() > deadline) {
      throw new CgroupError(
        'KILL_FAILED',
        `processes ${pids.join(', ')} still in ${procsFile} after ${timeoutMs} ms of SIGKILL (stuck in uninterruptible sleep?)`,
      );
    }
    signalPids(pids, 'SIGKILL');
    await sleep(round < 10 ? 1 : 10);
  }
}

/**
 * Kills everything in the cgroup directory and removes it, repeating while rmdir says EBUSY: a
 * process may join between the last kill and the rmdir (a wrapper that was just spawned), or a
 * killed task may still be exiting. Once the directory is gone nothing can join it any more (the
 * wrapper's write fails and it exits without running the command).
 */
export async function killAndRemove(
  dir: string,
  kill: () => Promise<void>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await kill();
    try {
      await fsp.rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() > deadline) {
        throw new CgroupError(
          'REMOVE_FAILED',
          `cannot remove cgroup ${dir}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      await sleep(2);
    }
  }
}

export async function mkdirCgroup(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw new CgroupError(
      'CREATE_FAILED',
      `cannot create cgroup ${dir}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

export function parseKeyedLines(text: string | null): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) m.set(k, Number(v));
  }
  return m;
}

/** Names of the cgroups directly below `dir` (none when it does not exist). */
export async function childCgroups(dir: string): Promise<string[]> {
  try {
    return (await fsp.readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

/** A parent path such as `cordon/node-1`, checked segment by segment; returns its segments. */
export function checkCgroupParent(parent: string): string[] {
  const segments = parent.split('/');
  for (const s of segments) checkCgroupName('cgroup parent', s);
  return segments;
}

const ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;
export function checkCgroupName(kind: string, id: string): void {
  if (!ID_RE.test(id) || id === '.' || id === '..') {
    throw new CgroupError(
      'CREATE_FAILED',
      `${kind} ${JSON.stringify(id)} is not a valid cgroup name ([A-Za-z0-9_.-]{1,64})`,
    );
  }
}

/**
 * A small cgroup file kept open and re-read with pread at offset 0: one thread-pool round trip per
 * read instead of open, fstat, read, read and close. Only for files whose whole content is one
 * seq_file record (pids.current, memory.oom_control, memory.events): reading at offset 0
 * regenerates them, and a record is never split across reads while it fits the buffer. Not for
 * cgroup.procs, whose v1 pid list is cached per open file.
 */
export class HeldCgroupFile {
  readonly #fh: fsp.FileHandle;
  readonly #buf = Buffer.alloc(4096);

  private constructor(fh: fsp.FileHandle) {
    this.#fh = fh;
  }

  /** Null when the file cannot be opened (callers then read it by name). */
  static async open(file: string): Promise<HeldCgroupFile | null> {
    try {
      return new HeldCgroupFile(await fsp.open(file, 'r'));
    } catch {
      return null;
    }
  }

  async read(): Promise<string> {
    const { bytesRead } = await this.#fh.read(this.#buf, 0, this.#buf.length, 0);
    return this.#buf.toString('utf8', 0, bytesRead);
  }

  async close(): Promise<void> {
    await this.#fh.close().catch(() => undefined);
  }
}

/** Reads through the held file when there is one, else by name (null when unreadable). */
export async function readHeld(held: HeldCgroupFile | null, file: string): Promise<string | null> {
  if (held === null) return readOptional(file);
  try {
    return await held.read();
  } catch {
    return readOptional(file);
  }
}
