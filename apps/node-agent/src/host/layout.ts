// Which parts of the host's root filesystem a sandbox sees, read-only: /usr, the top-level /bin,
// /sbin and /lib* (recreated as symlinks on merged-/usr systems, so `/bin/sh` resolves the same way
// inside) and an allow-list of /etc files programs need to run. Nothing else of the host.
import fs from 'node:fs';
import path from 'node:path';

export type RootEntry =
  | { readonly kind: 'dir'; readonly path: string }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string };

export interface RootLayout {
  readonly bwrapPath: string;
  readonly setprivPath: string;
  /**
   * util-linux unshare: the runner's wrapper puts bwrap in a pid namespace of its own so nothing
   * of an exec is ever left for the host's init to reap (see runner/standby.ts). Default
   * /usr/bin/unshare.
   */
  readonly unsharePath?: string;
  /** /usr and the top-level bin/sbin/lib* entries, in bind order. */
  readonly roots: readonly RootEntry[];
  /** Absolute /etc paths bound read-only (with --ro-bind-try: a file vanishing later is not fatal). */
  readonly etc: readonly string[];
  /**
   * A prepared snapshot of those entries (etc-snapshot.ts), bound as /etc in one mount instead of
   * one bind per entry. Absent: the entries are bound one by one.
   */
  readonly etcDir?: string;
}

/**
 * /etc entries a sandbox needs: name resolution, the dynamic linker cache, TLS roots, Debian's
 * alternatives symlinks, time zone, shell start-up files, terminfo. Deliberately absent: passwd,
 * group (synthesised per sandbox), shadow/gshadow, ssh, sudoers, npmrc/pip.conf/gitconfig (may
 * hold credentials), machine-id (a host identifier), subuid/subgid, hostname.
 */
export const ETC_ALLOW_LIST: readonly string[] = Object.freeze([
  'resolv.conf',
  'hosts',
  'host.conf',
  'nsswitch.conf',
  'gai.conf',
  'protocols',
  'services',
  'networks',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'alternatives',
  'ssl',
  'ca-certificates',
  'ca-certificates.conf',
  'pki',
  'localtime',
  'timezone',
  'locale.alias',
  'mime.types',
  'magic',
  'magic.mime',
  'bash.bashrc',
  'profile',
  'profile.d',
  'inputrc',
  'shells',
  'terminfo',
  'os-release',
  'debian_version',
  'python3',
]);

const TOP_LEVEL_CANDIDATES = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** The host's layout, read from the filesystem (a few lstat calls). `root` is for tests. */
export function detectRootLayout(root = '/'): RootLayout {
  const roots: RootEntry[] = [{ kind: 'dir', path: '/usr' }];
  for (const name of TOP_LEVEL_CANDIDATES) {
    const hostPath = path.join(root, name);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(hostPath);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) {
      roots.push({ kind: 'symlink', path: `/${name}`, target: fs.readlinkSync(hostPath) });
    } else if (st.isDirectory()) {
      roots.push({ kind: 'dir', path: `/${name}` });
    }
  }
  const etc = ETC_ALLOW_LIST.filter((name) => fs.existsSync(path.join(root, 'etc', name))).map(
    (name) => `/etc/${name}`,
  );
  return {
    bwrapPath: findExecutable('bwrap', root) ?? '/usr/bin/bwrap',
    setprivPath: findExecutable('setpriv', root) ?? '/usr/bin/setpriv',
    unsharePath: findExecutable('unshare', root) ?? '/usr/bin/unshare',
    roots,
    etc,
  };
}

/** Looks only in fixed system directories: the agent's own PATH must not decide what bwrap is. */
export function findExecutable(name: string, root = '/'): string | null {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin']) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(path.join(root, candidate), fs.constants.X_OK);
      return candidate;
    } catch {
      // try the next directory
    }
  }
  return null;
}
