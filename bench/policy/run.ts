// Policy compiler benchmark: decisions per second over 10k distinct paths (cold = fresh policy,
// every path decided once; memoised = the same paths again), and the compile time of 1,000 rules.
// Run: node bench/policy/run.ts   (prints a markdown table)
import { performance } from 'node:perf_hooks';
import { compilePolicy, type PolicyInput, type Rule } from '@cordon/policy';

const PATHS = makePaths(10_000);

function makePaths(n: number): string[] {
  const out = new Set<string>();
  const exts = ['ts', 'js', 'py', 'md', 'json', 'pem', 'key', 'go', 'rs'];
  for (let i = 0; out.size < n; i++) {
    const depth = 1 + (i % 6);
    const segs = Array.from({ length: depth - 1 }, (_, d) =>
      d === 0
        ? ['src', 'lib', 'docs', 'test', '.git', 'config', 'output'][i % 7]!
        : `m${(i * 7 + d * 13) % 97}`,
    );
    if (i % 53 === 0) segs.push('secrets');
    const base = i % 31 === 0 ? `.env.${i}` : `f${i}.${exts[i % exts.length]}`;
    out.add('/' + [...segs, base].join('/'));
  }
  return [...out];
}

function thousandRules(): Rule[] {
  const rules: Rule[] = [];
  for (let i = 0; i < 400; i++)
    rules.push({ pattern: `/src/m${i % 97}/f${i}.ts`, permission: 'write', priority: i % 5 });
  for (let i = 0; i < 200; i++)
    rules.push({
      pattern: `/lib/m${i % 97}/`,
      permission: i % 2 ? 'read' : 'view',
      priority: i % 3,
    });
  for (let i = 0; i < 380; i++)
    rules.push({
      pattern: `/test/m${i % 97}/**/*.${['ts', 'js', 'py'][i % 3]}`,
      permission: 'read',
      priority: i % 4,
    });
  for (let i = 0; i < 20; i++)
    rules.push({ pattern: `**/*.x${i}`, permission: 'none', priority: 50 });
  return rules;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function measure(input: PolicyInput): { cold: number; memo: number } {
  const colds: number[] = [];
  const memos: number[] = [];
  let sink = 0;
  for (let round = 0; round < 15; round++) {
    const policy = compilePolicy(input);
    let t = performance.now();
    for (const p of PATHS) sink += policy.decide(p).length;
    colds.push(PATHS.length / ((performance.now() - t) / 1000));
    t = performance.now();
    for (let k = 0; k < 20; k++) for (const p of PATHS) sink += policy.decide(p).length;
    memos.push((20 * PATHS.length) / ((performance.now() - t) / 1000));
  }
  if (sink === 0) throw new Error('unreachable');
  return { cold: median(colds.slice(3)), memo: median(memos.slice(3)) };
}

function compileMs(rules: Rule[]): number {
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    compilePolicy({ rules });
    times.push(performance.now() - t);
  }
  return median(times.slice(5));
}

const rules = thousandRules();
const safe = measure({ preset: 'agent-safe' });
const big = measure({ rules });
const fmt = (n: number): string => `${(n / 1e6).toFixed(2)} M/s`;
console.log(`node ${process.version}, ${PATHS.length} distinct paths\n`);
console.log('| policy | cold decisions/s | memoised decisions/s |');
console.log('|---|---|---|');
console.log(`| agent-safe (9 rules) | ${fmt(safe.cold)} | ${fmt(safe.memo)} |`);
console.log(`| 1,000 rules | ${fmt(big.cold)} | ${fmt(big.memo)} |`);
console.log(`\ncompile 1,000 rules: ${compileMs(rules).toFixed(2)} ms (median of 25)`);
