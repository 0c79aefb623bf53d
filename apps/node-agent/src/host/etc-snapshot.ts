// A read-only snapshot of the allow-listed /etc entries, bound as the sandbox's /etc in ONE mount.
//
// Why: bwrap re-reads /proc/self/mountinfo for every read-only bind, so 30 separate /etc binds
// cost ~6 ms per exec (measured: 13 ms vs 7 ms for `true`). The snapshot keeps only world-readable
// entries (so /etc/ssl/private and the like never enter it), keeps symlinks as symlinks (they
// resolve inside the sandbox against its own /usr), and has empty `passwd` and `group`
// placeholders that the per-sandbox files are bound over.
//
// It is taken at agent start; call prepareEtcSnapshot again after host /etc changes (e.g. a new
// resolv.conf). Running sandboxes keep the snapshot they started with.
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ETC_ALLOW_LIST } from './layout.ts';

export const DEFAULT_RUNTIME_DIR = '/run/cordon';

async function copyWorldReadable(src: string, dest: string): Promise<void> {
  const st = await fsp.lstat(src);
  if (st.isSymbolicLink()) {
    await fsp.symlink(await fsp.readlink(src), dest);
  } else if (st.isDirectory()) {
    if ((st.mode & 0o005) !== 0o005) return;
    await fsp.mkdir(dest, { mode: 0o755 });
    for (const name of await fsp.readdir(src))
      await copyWorldReadable(path.join(src, name), path.join(dest, name));
    await fsp.chmod(dest, 0o755);
  } else if (st.isFile()) {
    if ((st.mode & 0o004) === 0) return;
    await fsp.copyFile(src, dest);
    await fsp.chmod(dest, 0o644);
  }
  // sockets, fifos, devices: never copied
}

/**
 * Builds `<runtimeDir>/etc` from the host's /etc (`hostEtc`, for tests) and returns its path.
 * The directory and its parents are 0755 so the unprivileged sandbox uids can bind it.
 */
export async function prepareEtcSnapshot(
  runtimeDir = DEFAULT_RUNTIME_DIR,
  hostEtc = '/etc',
): Promise<string> {
  await fsp.mkdir(runtimeDir, { recursive: true, mode: 0o755 });
  await fsp.chmod(runtimeDir, 0o755);
  const tmp = path.join(runtimeDir, `etc.new-${randomBytes(4).toString('hex')}`);
  await fsp.mkdir(tmp, { mode: 0o755 });
  try {
    for (const name of ETC_ALLOW_LIST) {
      try {
        await copyWorldReadable(path.join(hostEtc, name), path.join(tmp, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    await fsp.writeFile(path.join(tmp, 'passwd'), '', { mode: 0o644 });
    await fsp.writeFile(path.join(tmp, 'group'), '', { mode: 0o644 });
    await fsp.chmod(tmp, 0o755);
    const target = path.join(runtimeDir, 'etc');
    const old = path.join(runtimeDir, `etc.old-${randomBytes(4).toString('hex')}`);
    await fsp.rename(target, old).catch(() => undefined);
    await fsp.rename(tmp, target);
    await fsp.rm(old, { recursive: true, force: true });
    return target;
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
