// Last-resort cleanup of one mount point whose fs host is gone or hung: abort the FUSE connection
// (so no process stays in D state waiting for an answer) and detach the mount lazily.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';

export interface MountInfo {
  readonly mountPoint: string;
  /** The FUSE connection number under /sys/fs/fuse/connections (the device minor). */
  readonly connection: number;
  readonly fsType: string;
}

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses /proc/self/mountinfo text; pure, for tests. */
export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    const dev = fields[2];
    const mp = fields[4];
    const fsType = sep >= 0 ? fields[sep + 1] : undefined;
    if (!dev || !mp || !fsType) continue;
    const minor = Number(dev.split(':')[1]);
    out.push({ mountPoint: unescapeMountinfo(mp), connection: minor, fsType });
  }
  return out;
}

export async function fuseMountsAt(mountPoint: string): Promise<MountInfo[]> {
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8');
  return parseMountinfo(text).filter(
    (m) => m.mountPoint === mountPoint && m.fsType.startsWith('fuse'),
  );
}

function run(cmd: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 10_000 }, () => resolve());
  });
}

/** Aborts and lazily unmounts every FUSE mount stacked at `mountPoint`. Never throws. */
export async function forceUnmount(mountPoint: string): Promise<void> {
  for (let i = 0; i < 8; i++) {
    const mounts = await fuseMountsAt(mountPoint).catch(() => []);
    const top = mounts.at(-1);
    if (!top) return;
    await fs
      .writeFile(`/sys/fs/fuse/connections/${top.connection}/abort`, '1')
      .catch(() => undefined);
    await run('umount', ['-l', mountPoint]);
  }
}
