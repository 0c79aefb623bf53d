// Filesystem benchmark: native directory, bindfs, fuse-overlayfs and Cordon's mount (read-level and
// write-level policy) over the same files. Needs root (mounts, drop_caches). Prints a markdown table
// of medians over --rounds rounds (default 3); every round measures every target in turn, so a
// busy neighbour on a shared machine slows all targets alike, and ratios to bindfs are taken per
// round before their median is reported.
//   node bench/fs/run.ts [--rounds N] [--out file.md]
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

/** One round's timings of one target, in ms: `<op> cold`, `<op> warm`, `create 1k`. */
type Timings = Record<string, number>;

const OPS = ['read 256 MB', 'find 10k', 'cat 10k', 'git status'] as const;

function measure(t: Target): Timings {
  const r: Timings = {};
  const repo = path.join(t.dir, 'repo');
  const runs: Record<(typeof OPS)[number], () => number> = {
    'read 256 MB': () => sh(`cat ${t.dir}/big.bin > /dev/null`),
    'find 10k': () => sh(`find ${repo} -path '*/.git' -prune -o -type f -print | wc -l`),
    'cat 10k': () =>
      sh(`find ${repo} -path '*/.git' -prune -o -type f -print0 | xargs -0 cat > /dev/null`),
    'git status': () => sh('git -c safe.directory=* status --porcelain > /dev/null', repo),
  };
  for (const op of OPS) {
    dropCaches();
    r[`${op} cold`] = runs[op]();
    // Warm: the median of the next three runs.
    r[`${op} warm`] = median([runs[op](), runs[op](), runs[op]()]);
  }
  if (t.canWrite) {
    const dir = path.join(t.dir, `created-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    r['create 1k'] = sh(`mkdir ${dir} && cd ${dir} && for i in $(seq 1000); do : > f$i; done`);
  }
  return r;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function fmt(key: string, ms: number | undefined): string {
  if (ms === undefined) return 'n/a';
  if (key.startsWith('read 256 MB')) return `${Math.round((BIG_MB / ms) * 1000)} MB/s`;
  return `${ms.toFixed(0)} ms`;
}

function load(): string {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error('run as root: the benchmark mounts filesystems and drops caches');
  const outIdx = process.argv.indexOf('--out');
  const out = outIdx > 0 ? process.argv[outIdx + 1] : undefined;
  const roundsIdx = process.argv.indexOf('--rounds');
  const rounds = roundsIdx > 0 ? Number(process.argv[roundsIdx + 1]) : 3;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds takes a positive integer');
  console.error(`data in ${base} …`);
  makeData();
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
  const mounted: Target[] = [];
  const timings = new Map<string, Timings[]>();
  const loads: string[] = [load()];
  try {
    for (const make of targets) mounted.push(await make());
    for (let round = 1; round <= rounds; round++) {
      for (const t of mounted) {
        console.error(`round ${round}/${rounds}: ${t.name} (load ${load()}) …`);
        const list = timings.get(t.name) ?? [];
        list.push(measure(t));
        timings.set(t.name, list);
      }
      loads.push(load());
    }
  } finally {
    for (const t of mounted) await t.stop();
    fs.rmSync(base, { recursive: true, force: true });
  }
  const keys = [...OPS.flatMap((op) => [`${op} cold`, `${op} warm`]), 'create 1k'];
  const med = (name: string, key: string): number | undefined => {
    const xs = (timings.get(name) ?? []).map((r) => r[key]).filter((x) => x !== undefined);
    return xs.length ? median(xs) : undefined;
  };
  // Per-round ratio to bindfs (time / bindfs time), then the median over rounds.
  const ratio = (name: string, key: string): string => {
    const mine = timings.get(name) ?? [];
    const peer = timings.get('bindfs') ?? [];
    const xs = mine.flatMap((r, i) => {
      const a = r[key];
      const b = peer[i]?.[key];
      return a !== undefined && b !== undefined ? [a / b] : [];
    });
    return xs.length ? `${median(xs).toFixed(2)}×` : 'n/a';
  };
  const cols = [...OPS, 'create 1k'];
  const cell = (name: string, c: string): string =>
    c === 'create 1k'
      ? fmt(c, med(name, c))
      : `${fmt(c, med(name, `${c} cold`))} / ${fmt(c, med(name, `${c} warm`))}`;
  const names = [...timings.keys()];
  const lines = [
    `| target | ${cols.map((c) => (c === 'create 1k' ? c : `${c} cold / warm`)).join(' | ')} |`,
    `|---|${cols.map(() => '---').join('|')}|`,
    ...names.map((n) => `| ${n} | ${cols.map((c) => cell(n, c)).join(' | ')} |`),
    '',
    `Time ratios to bindfs (median of per-round ratios; below 1 is faster), ${rounds} rounds:`,
    '',
    `| target | ${keys.join(' | ')} |`,
    `|---|${keys.map(() => '---').join('|')}|`,
    ...names
      .filter((n) => n !== 'bindfs')
      .map((n) => `| ${n} | ${keys.map((k) => ratio(n, k)).join(' | ')} |`),
    '',
    `Load average (1/5/15 min) at start and after each round: ${loads.join('; ')}`,
  ];
  const table = lines.join('\n') + '\n';
  process.stdout.write(table);
  if (out) fs.writeFileSync(out, table);
}

await main();
