// Test fixtures for the permission filesystem: temp dirs, a mounted sandbox, a Python op runner
// giving exact errno names, and cleanup that always unmounts and stops the fs host.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compilePolicy, type PolicyInput } from '@cordon/policy';
import { mountSandboxFs, type MountSandboxFsOptions, type SandboxFs } from '../../src/fs/index.ts';

export interface Fixture {
  readonly base: string;
  readonly src: string;
  readonly delta: string;
  readonly mnt: string;
  readonly fs: SandboxFs;
}

const live = new Set<Fixture>();

export function makeTree(
  root: string,
  files: Record<string, string | { link: string } | null>,
): void {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    if (content === null) {
      fs.mkdirSync(abs, { recursive: true });
      continue;
    }
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    if (typeof content === 'string') fs.writeFileSync(abs, content);
    else fs.symlinkSync(content.link, abs);
  }
}

export async function mountFixture(
  policy: PolicyInput,
  opts: {
    src?: string;
    files?: Parameters<typeof makeTree>[1];
    extra?: Partial<MountSandboxFsOptions>;
  } = {},
): Promise<Fixture> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-fs-'));
  fs.chmodSync(base, 0o755);
  const src = opts.src ?? path.join(base, 'src');
  fs.mkdirSync(src, { recursive: true });
  if (opts.files) makeTree(src, opts.files);
  const delta = path.join(base, 'delta');
  const mnt = path.join(base, 'mnt');
  fs.mkdirSync(mnt);
  const compiled = compilePolicy(policy);
  const handle = await mountSandboxFs({
    sandboxId: `t-${path.basename(base).slice(-6)}`,
    sourceDir: src,
    deltaDir: delta,
    mountPoint: mnt,
    policy: compiled,
    ...opts.extra,
  }).catch((err: unknown) => {
    fs.rmSync(base, { recursive: true, force: true });
    throw err;
  });
  const fixture = { base, src, delta, mnt, fs: handle };
  live.add(fixture);
  return fixture;
}

/** Unmounts every fixture still mounted (afterEach/afterAll), then removes its directories. */
export async function cleanupAll(): Promise<void> {
  for (const f of [...live]) {
    live.delete(f);
    await f.fs.unmount();
    fs.rmSync(f.base, { recursive: true, force: true });
  }
}

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function sh(script: string, cwd: string, env: Record<string, string> = {}): Run {
  const r = spawnSync('bash', ['-c', script], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env, GIT_CONFIG_NOSYSTEM: '1', HOME: cwd },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export type PyOp = readonly [op: string, ...args: string[]];

const PY_RUNNER = String.raw`
import errno, json, os, sys
def run(op, a):
    if op == 'stat': os.stat(a[0]); return 'OK'
    if op == 'lstat': os.lstat(a[0]); return 'OK'
    if op == 'list': return sorted(os.listdir(a[0]))
    if op == 'read': 
        with open(a[0], 'rb') as f: return f.read().decode()
    if op == 'write':
        with open(a[0], 'ab') as f: f.write(b'x')
        return 'OK'
    if op == 'trunc': os.truncate(a[0], 0); return 'OK'
    if op == 'unlink': os.unlink(a[0]); return 'OK'
    if op == 'rename': os.rename(a[0], a[1]); return 'OK'
    if op == 'chmod': os.chmod(a[0], 0o600); return 'OK'
    if op == 'utime': os.utime(a[0], (1000, 2000)); return 'OK'
    if op == 'chown': os.chown(a[0], 0, 0); return 'OK'
    if op == 'create': os.close(os.open(a[0], os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)); return 'OK'
    if op == 'mkdir': os.mkdir(a[0]); return 'OK'
    if op == 'rmdir': os.rmdir(a[0]); return 'OK'
    if op == 'symlink': os.symlink(a[0], a[1]); return 'OK'
    if op == 'link': os.link(a[0], a[1]); return 'OK'
    if op == 'readlink': return os.readlink(a[0])
    if op == 'getxattr': os.getxattr(a[0], 'user.x'); return 'OK'
    if op == 'listxattr': os.listxattr(a[0]); return 'OK'
    if op == 'access_w': return 'OK' if os.access(a[0], os.W_OK) else 'NO'
    if op == 'access_r': return 'OK' if os.access(a[0], os.R_OK) else 'NO'
    if op == 'mmap':
        import mmap
        with open(a[0], 'rb') as f: mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        return 'OK'
    if op == 'exists': return 'OK' if os.path.exists(a[0]) else 'ABSENT'
    if op == 'ino': return os.lstat(a[0]).st_ino
    if op == 'size': return os.lstat(a[0]).st_size
    if op == 'put':
        with open(a[0], 'w') as f: f.write(a[1])
        return 'OK'
    raise Exception('unknown op ' + op)
out = []
for op, *a in json.load(sys.stdin):
    try:
        out.append(run(op, a))
    except OSError as e:
        out.append(errno.errorcode.get(e.errno, str(e.errno)))
print(json.dumps(out))
`;

/** Runs file operations in one python3 process (cwd = `cwd`); each result is 'OK', a value or an errno name. */
export function py(cwd: string, ops: readonly PyOp[], asUid?: number): unknown[] {
  const cmd =
    asUid === undefined
      ? ['python3', '-c', PY_RUNNER]
      : [
          'setpriv',
          `--reuid=${asUid}`,
          `--regid=${asUid}`,
          '--clear-groups',
          'python3',
          '-c',
          PY_RUNNER,
        ];
  const r = spawnSync(cmd[0]!, cmd.slice(1), {
    cwd,
    input: JSON.stringify(ops),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`python runner failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as unknown[];
}

export function waitFor(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
