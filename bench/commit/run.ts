// Commit throughput figures for docs/commit.md (not a test; no assertions). Run:
//   node bench/commit/run.ts
// Builds a codebase and a delta in a temp dir per run, times commitDelta only; medians of 3.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { commitDelta } from '@cordon/node-agent/commit';

/** Incompressible content, 1 MiB at a time (never the whole file in memory). */
async function writeBigFile(file: string, bytes: number): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    for (let written = 0; written < bytes; written += 1 << 20) {
      await handle.write(randomBytes(Math.min(1 << 20, bytes - written)));
    }
  } finally {
    await handle.close();
  }
}

interface Case {
  readonly label: string;
  readonly files: number;
  readonly modify: boolean;
  readonly bigBytes?: number;
}

const CASES: readonly Case[] = [
  { label: '1,000 new small files', files: 1000, modify: false },
  { label: '1,000 modified small files', files: 1000, modify: true },
  { label: '10,000 new small files', files: 10_000, modify: false },
  { label: 'one 256 MiB file', files: 0, modify: false, bigBytes: 256 << 20 },
];

async function once(c: Case): Promise<number> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'cordon-commit-bench-'));
  try {
    const codebase = path.join(base, 'codebase');
    const upper = path.join(base, 'delta', 'upper');
    for (let d = 0; d < 50; d++) {
      await fs.mkdir(path.join(codebase, `d${d}`), { recursive: true });
      await fs.mkdir(path.join(upper, `d${d}`), { recursive: true });
    }
    for (let i = 0; i < c.files; i++) {
      const rel = path.join(`d${i % 50}`, `f${i}.txt`);
      if (c.modify) await fs.writeFile(path.join(codebase, rel), 'old\n');
      await fs.writeFile(path.join(upper, rel), `new content ${i}\n`);
    }
    if (c.bigBytes !== undefined) await writeBigFile(path.join(upper, 'big.bin'), c.bigBytes);
    const started = performance.now();
    await commitDelta({
      codebaseDir: codebase,
      deltaDir: path.join(base, 'delta'),
      stateDir: path.join(base, 'state'),
    });
    return performance.now() - started;
  } finally {
    await fs.rm(base, { recursive: true, force: true });
  }
}

for (const c of CASES) {
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) runs.push(await once(c));
  runs.sort((a, b) => a - b);
  console.log(
    `${c.label}: median ${runs[1]?.toFixed(0)} ms (runs ${runs.map((x) => x.toFixed(0)).join(', ')})`,
  );
}
