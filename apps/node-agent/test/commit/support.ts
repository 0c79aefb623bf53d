// Test support for the commit tests: full tree snapshots, a rich delta fixture and child processes.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface EntrySnapshot {
  readonly type: 'dir' | 'file' | 'symlink' | 'other';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly sha256?: string;
  readonly size?: number;
  readonly target?: string;
  /** Files and symlinks only: directory mtimes legitimately change when entries come and go. */
  readonly mtimeNs?: string;
}

export type TreeSnapshot = Record<string, EntrySnapshot>;

/** Every entry below `root` (reserved names included, so leftovers show up as differences). */
export async function snapshotTree(root: string): Promise<TreeSnapshot> {
  const out: TreeSnapshot = {};
  const walk = async (abs: string, rel: string): Promise<void> => {
    const names = (await fs.readdir(abs)).sort();
    for (const name of names) {
      const childAbs = path.join(abs, name);
      const childRel = `${rel}/${name}`;
      const st = await fs.lstat(childAbs, { bigint: true });
      const base = { mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid) };
      if (st.isDirectory()) {
        out[childRel] = { type: 'dir', ...base };
        await walk(childAbs, childRel);
      } else if (st.isFile()) {
        out[childRel] = {
          type: 'file',
          ...base,
          size: Number(st.size),
          sha256: await sha256File(childAbs),
          mtimeNs: st.mtimeNs.toString(),
        };
      } else if (st.isSymbolicLink()) {
        out[childRel] = {
          type: 'symlink',
          ...base,
          target: await fs.readlink(childAbs),
          mtimeNs: st.mtimeNs.toString(),
        };
      } else {
        out[childRel] = { type: 'other', ...base };
      }
    }
  };
  await walk(root, '');
  return out;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function makeTempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `cordon-${prefix}-`));
}

/** A fixed timestamp per name, so every fixture build is byte-for-byte and time-for-time equal. */
const T0 = 1_700_000_000;

type Spec =
  | {
      readonly file: string;
      readonly content?: string;
      readonly mode?: number;
      readonly t?: number;
    }
  | { readonly dir: string; readonly mode?: number }
  | { readonly symlink: string; readonly target: string; readonly t?: number }
  | { readonly big: string; readonly bytes: number; readonly t?: number };

export async function materialise(root: string, specs: readonly Spec[]): Promise<void> {
  await fs.mkdir(root, { recursive: true });
  const dirModes: [string, number][] = [];
  for (const spec of specs) {
    if ('dir' in spec) {
      const abs = path.join(root, spec.dir);
      await fs.mkdir(abs, { recursive: true });
      if (spec.mode !== undefined) dirModes.push([abs, spec.mode]);
    } else if ('file' in spec) {
      const abs = path.join(root, spec.file);
      await fs.mkdir(path.dirname(abs), { recursive: true });
      await fs.writeFile(abs, spec.content ?? '');
      await fs.chmod(abs, spec.mode ?? 0o644);
      await fs.utimes(abs, T0 + (spec.t ?? 0), T0 + (spec.t ?? 0));
    } else if ('symlink' in spec) {
      const abs = path.join(root, spec.symlink);
      await fs.mkdir(path.dirname(abs), { recursive: true });
      await fs.symlink(spec.target, abs);
      await fs.lutimes(abs, T0 + (spec.t ?? 0), T0 + (spec.t ?? 0));
    } else {
      const abs = path.join(root, spec.big);
      await fs.mkdir(path.dirname(abs), { recursive: true });
      await writeBigFile(abs, spec.bytes);
      await fs.utimes(abs, T0 + (spec.t ?? 0), T0 + (spec.t ?? 0));
    }
  }
  // Modes last: a 0555 directory must still be filled first.
  for (const [abs, mode] of dirModes.reverse()) await fs.chmod(abs, mode);
}

/** Deterministic, non-repeating-per-MiB content, written in chunks. */
export async function writeBigFile(file: string, bytes: number): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    const chunk = Buffer.alloc(1 << 20);
    for (let written = 0, i = 0; written < bytes; i++) {
      const seed = createHash('sha256').update(String(i)).digest();
      for (let o = 0; o < chunk.length; o += seed.length) seed.copy(chunk, o);
      const n = Math.min(chunk.length, bytes - written);
      await handle.write(chunk, 0, n);
      written += n;
    }
  } finally {
    await handle.close();
  }
}

export interface Fixture {
  readonly base: string;
  readonly codebase: string;
  readonly delta: string;
  readonly state: string;
}

export const SOURCE_SPECS: readonly Spec[] = [
  { file: 'README.md', content: 'readme v1\n' },
  { dir: 'src', mode: 0o755 },
  { file: 'src/a.ts', content: 'a v1\n' },
  { file: 'src/b.ts', content: 'b v1\n' },
  { file: 'src/del.ts', content: 'delete me\n' },
  { file: 'src/exec.sh', content: '#!/bin/sh\n', mode: 0o644 },
  { file: 'old-dir/x.txt', content: 'x\n' },
  { file: 'old-dir/sub/y.txt', content: 'y\n' },
  { file: 'renamed-from/f1.txt', content: 'f1\n' },
  { file: 'renamed-from/deep/f2.txt', content: 'f2\n' },
  { dir: 'opaque-dir', mode: 0o755 },
  { file: 'opaque-dir/gone.txt', content: 'gone\n' },
  { file: 'opaque-dir/sub/z.txt', content: 'z\n' },
  { file: 'opaque-dir/kept-name.txt', content: 'old\n' },
  { file: 'file-to-dir', content: 'was a file\n' },
  { file: 'dir-to-file/inner.txt', content: 'inner\n' },
  { symlink: 'link-old', target: 'src/a.ts' },
  { file: 'with space/ünïcode ✓.txt', content: 'v1\n' },
  { file: 'empty-src.txt', content: '' },
  { file: 'unchanged/u.txt', content: 'u\n' },
  { dir: 'chmod-dir', mode: 0o755 },
  { file: 'chmod-dir/c.txt', content: 'c\n' },
  { dir: 'ro-dir', mode: 0o555 },
  { file: 'ro-dir/r.txt', content: 'r\n' },
];

export function upperSpecs(bigBytes: number): Spec[] {
  return [
    { dir: '', mode: 0o755 },
    { file: 'new.txt', content: 'new\n', mode: 0o600, t: 10 },
    { file: 'empty-new.txt', content: '', t: 11 },
    { file: 'readonly.txt', content: 'ro\n', mode: 0o444, t: 12 },
    { big: 'big.bin', bytes: bigBytes, t: 13 },
    { dir: 'src', mode: 0o755 },
    { file: 'src/b.ts', content: 'b v2, longer than before\n', t: 14 },
    { file: 'src/exec.sh', content: '#!/bin/sh\necho hi\n', mode: 0o755, t: 15 },
    { file: 'src/.cordon-wh.del.ts' },
    { file: '.cordon-wh.old-dir' },
    { file: '.cordon-wh.renamed-from' },
    { file: '.cordon-wh.never-existed' },
    { file: 'renamed-to/f1.txt', content: 'f1\n' },
    { file: 'renamed-to/deep/f2.txt', content: 'f2\n' },
    { dir: 'opaque-dir', mode: 0o750 },
    { file: 'opaque-dir/.cordon-opaque' },
    { file: 'opaque-dir/kept-name.txt', content: 'new content\n', t: 16 },
    { file: 'opaque-dir/fresh.txt', content: 'fresh\n', t: 17 },
    { file: 'file-to-dir/inner.txt', content: 'now inside a dir\n', t: 18 },
    { file: 'dir-to-file', content: 'now a file\n', t: 19 },
    { symlink: 'link-old', target: 'README.md', t: 20 },
    { symlink: 'link-new', target: 'src/b.ts', t: 21 },
    { symlink: 'dangling', target: 'does/not/exist', t: 22 },
    { file: 'with space/ünïcode ✓.txt', content: 'v2\n', t: 23 },
    { file: 'newdir/nested/deep.txt', content: 'deep\n', t: 24 },
    // Bookkeeping inside trees that are replaced whole: meaningless there, never copied.
    { file: 'newdir/nested/.cordon-wh.ghost' },
    { file: 'opaque-dir/.cordon-wh.gone.txt' },
    { dir: 'emptydir', mode: 0o700 },
    { dir: 'chmod-dir', mode: 0o700 },
    { dir: 'ro-dir', mode: 0o555 },
    { file: 'ro-dir/new.txt', content: 'added to a read-only dir\n', t: 25 },
  ];
}

/** The codebase and delta of SOURCE_SPECS/upperSpecs under a fresh temp dir. */
export async function buildFixture(bigBytes = 3 << 20): Promise<Fixture> {
  const base = await makeTempDir('commit');
  const fixture: Fixture = {
    base,
    codebase: path.join(base, 'codebase'),
    delta: path.join(base, 'delta'),
    state: path.join(base, 'state'),
  };
  await materialise(fixture.codebase, SOURCE_SPECS);
  await materialise(path.join(fixture.delta, 'upper'), upperSpecs(bigBytes));
  await fs.mkdir(path.join(fixture.delta, 'work'));
  await fs.writeFile(
    path.join(fixture.delta, 'seen.ndjson'),
    `${JSON.stringify({ path: '/new.txt', fp: null })}\n`,
  );
  await fs.utimes(path.join(fixture.delta, 'seen.ndjson'), T0, T0);
  return fixture;
}

export const EXPECTED = {
  added: [
    '/big.bin',
    '/dangling',
    '/empty-new.txt',
    '/emptydir',
    '/file-to-dir/inner.txt',
    '/link-new',
    '/new.txt',
    '/newdir',
    '/newdir/nested',
    '/newdir/nested/deep.txt',
    '/opaque-dir/fresh.txt',
    '/readonly.txt',
    '/renamed-to',
    '/renamed-to/deep',
    '/renamed-to/deep/f2.txt',
    '/renamed-to/f1.txt',
    '/ro-dir/new.txt',
  ].sort(),
  modified: [
    '/chmod-dir',
    '/dir-to-file',
    '/file-to-dir',
    '/link-old',
    '/opaque-dir',
    '/opaque-dir/kept-name.txt',
    '/src/b.ts',
    '/src/exec.sh',
    '/with space/ünïcode ✓.txt',
  ].sort(),
  deleted: [
    '/dir-to-file/inner.txt',
    '/old-dir',
    '/old-dir/sub',
    '/old-dir/sub/y.txt',
    '/old-dir/x.txt',
    '/opaque-dir/gone.txt',
    '/opaque-dir/sub',
    '/opaque-dir/sub/z.txt',
    '/renamed-from',
    '/renamed-from/deep',
    '/renamed-from/deep/f2.txt',
    '/renamed-from/f1.txt',
    '/src/del.ts',
  ].sort(),
  conflicts: [] as string[],
};

export const CHILD_SCRIPT = fileURLToPath(new URL('./commit-child.ts', import.meta.url));

export interface ChildOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs commit-child.ts with `args` (JSON) and the crash point (if any) in its environment. */
export function runChild(
  action: 'commit' | 'recover',
  args: object,
  crashAt?: string,
): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.CORDON_COMMIT_CRASH_AT;
    if (crashAt !== undefined) env.CORDON_COMMIT_CRASH_AT = crashAt;
    const child = spawn(process.execPath, [CHILD_SCRIPT, action, JSON.stringify(args)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
