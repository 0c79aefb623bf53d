// Filesystem benchmark: native directory, bindfs, fuse-overlayfs and Cordon's mount (read-level and
// write-level policy) over the same files. Needs root (mounts, drop_caches). Prints a markdown table.
//   node bench/fs/run.ts [--out file.md]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compilePolicy } from '@cordon/policy';
// The node agent exports no ./fs entry yet; the benchmark drives the library directly.
import { mountSandboxFs, type SandboxFs } from '@cordon/node-agent/fs';

const FILES = 10_000;
const BIG_MB = 256;
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-bench-fs-'));
const src = path.join(base, 'src');

function sh(cmd: string, cwd = base): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', cmd], {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return ms;
}

function dropCaches(): void {
  execFileSync('sync');
  fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
}

function makeData(): void {
  const repo = path.join(src, 'repo');
  for (let d = 0; d < FILES / 100; d++) {
    const dir = path.join(repo, `d${String(d).padStart(2, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 100; i++)
      fs.writeFileSync(path.join(dir, `f${i}.txt`), `file ${d}/${i}\n`.repeat(40));
  }
  sh(`dd if=/dev/urandom of=${path.join(src, 'big.bin')} bs=1M count=${BIG_MB} status=none`);
  sh(
    'git -c init.defaultBranch=main init -q && git add -A && git -c user.name=b -c user.email=b@b commit -qm data',
    repo,
  );
}

interface Target {
  readonly name: string;
  readonly dir: string;
  readonly canWrite: boolean;
  stop(): Promise<void>;
}

async function cordon(name: string, level: 'read' | 'write'): Promise<Target> {
  const mnt = path.join(base, `mnt-${level}`);
  fs.mkdirSync(mnt);
  const m: SandboxFs = await mountSandboxFs({
    sandboxId: `bench-${level}`,
    sourceDir: src,
    deltaDir: path.join(base, `delta-${level}`),
    mountPoint: mnt,
    policy: compilePolicy({
      rules: [
        { pattern: '**/*', permission: level },
        { pattern: '**/.env*', permission: 'none', priority: 9 },
      ],
    }),
    // Same owner as the data: git's index compares uid/gid and would otherwise re-hash everything.
    ownerUid: 0,
    ownerGid: 0,
    quotaBytes: 4 * 1024 ** 3,
  });
  return { name, dir: mnt, canWrite: level === 'write', stop: () => m.unmount() };
}

function fuseCmd(name: string, cmd: (mnt: string) => string[]): Target {
  const mnt = path.join(base, `mnt-${name}`);
  fs.mkdirSync(mnt);
  const [bin, ...args] = cmd(mnt);
  execFileSync(bin!, args);
  return {
    name,
    dir: mnt,
    canWrite: true,
    stop: () => {
      spawnSync('fusermount', ['-u', mnt]);
      return Promise.resolve();
    },
  };
}

interface Row {
  name: string;
  results: Record<string, string>;
}

function measure(t: Target): Row {
  const r: Record<string, string> = {};
  const repo = path.join(t.dir, 'repo');
  const ops: [string, () => number, (ms: number) => string][] = [
    [
      'read 256 MB',
      () => sh(`cat ${t.dir}/big.bin > /dev/null`),
      (ms) => `${Math.round((BIG_MB / ms) * 1000)} MB/s`,
    ],
    [
      'find 10k',
      () => sh(`find ${repo} -path '*/.git' -prune -o -type f -print | wc -l`),
      (ms) => `${ms.toFixed(0)} ms`,
    ],
    [
      'cat 10k',
      () => sh(`find ${repo} -path '*/.git' -prune -o -type f -print0 | xargs -0 cat > /dev/null`),
      (ms) => `${ms.toFixed(0)} ms`,
    ],
    [
      'git status',
      () => sh('git -c safe.directory=* status --porcelain > /dev/null', repo),
      (ms) => `${ms.toFixed(0)} ms`,
    ],
  ];
  for (const [label, run, fmt] of ops) {
    dropCaches();
    const cold = run();
    const warm = Math.min(run(), run());
    r[label] = `${fmt(cold)} / ${fmt(warm)}`;
  }
  if (t.canWrite) {
    const dir = path.join(t.dir, `created-${Date.now()}`);
    r['create 1k'] =
      `${sh(`mkdir ${dir} && cd ${dir} && for i in $(seq 1000); do : > f$i; done`).toFixed(0)} ms`;
  } else {
    r['create 1k'] = 'n/a (read-only)';
  }
  return { name: t.name, results: r };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error('run as root: the benchmark mounts filesystems and drops caches');
  const outIdx = process.argv.indexOf('--out');
  const out = outIdx > 0 ? process.argv[outIdx + 1] : undefined;
  console.error(`data in ${base} …`);
  makeData();
  const rows: Row[] = [];
  const targets: (() => Promise<Target>)[] = [
    () =>
      Promise.resolve({ name: 'native', dir: src, canWrite: true, stop: () => Promise.resolve() }),
    () =>
      Promise.resolve(
        fuseCmd('bindfs', (m) => [
          'bindfs',
          '-o',
          'allow_other,attr_timeout=1,entry_timeout=1',
          src,
          m,
        ]),
      ),
    () => {
      fs.mkdirSync(path.join(base, 'ovl-up'));
      fs.mkdirSync(path.join(base, 'ovl-work'));
      return Promise.resolve(
        fuseCmd('fuse-overlayfs', (m) => [
          'fuse-overlayfs',
          '-o',
          `lowerdir=${src},upperdir=${base}/ovl-up,workdir=${base}/ovl-work`,
          m,
        ]),
      );
    },
    () => cordon('cordon (read policy)', 'read'),
    () => cordon('cordon (write policy)', 'write'),
  ];
  try {
    for (const make of targets) {
      const t = await make();
      try {
        console.error(`measuring ${t.name} …`);
        rows.push(measure(t));
      } finally {
        await t.stop();
      }
    }
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
  const cols = ['read 256 MB', 'find 10k', 'cat 10k', 'git status', 'create 1k'];
  const lines = [
    `| target | ${cols.map((c) => (c === 'create 1k' ? c : `${c} cold / warm`)).join(' | ')} |`,
    `|---|${cols.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.name} | ${cols.map((c) => row.results[c] ?? '').join(' | ')} |`),
  ];
  const table = lines.join('\n') + '\n';
  process.stdout.write(table);
  if (out) fs.writeFileSync(out, table);
}

await main();
