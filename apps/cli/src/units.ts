import { CliError } from './errors.ts';

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** `512m`, `1g`, `1.5GiB`, `65536` → bytes (binary units, as memory limits are). */
export function parseSize(flag: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = m?.[2]?.toLowerCase() ?? '';
  const factor = SIZE_UNITS[unit];
  if (!m || factor === undefined) {
    throw new CliError(
      'USAGE',
      `${flag} ${value}: not a size; write e.g. 512m, 1g, 64k or a number of bytes`,
    );
  }
  const bytes = Math.round(Number(m[1]) * factor);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new CliError('USAGE', `${flag} ${value}: must be a positive size`);
  }
  return bytes;
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** `30s`, `5m`, `1500ms`, `1h30m`, `2.5s` → milliseconds. A bare number is seconds, like timeout(1). */
export function parseDuration(flag: string, value: string): number {
  const v = value.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(v)) return checkMs(flag, value, Number(v) * 1000);
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== v) {
    throw new CliError(
      'USAGE',
      `${flag} ${value}: not a duration; write e.g. 30s, 5m, 1500ms or 1h30m`,
    );
  }
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * (DURATION_UNITS[p[2] ?? ''] ?? 0), 0);
  return checkMs(flag, value, ms);
}

function checkMs(flag: string, value: string, ms: number): number {
  const r = Math.round(ms);
  if (!Number.isSafeInteger(r) || r <= 0)
    throw new CliError('USAGE', `${flag} ${value}: must be a positive duration`);
  return r;
}

/** `1`, `0.5`, `2`, `500m` (millicores, as Kubernetes writes them) → millicores. */
export function parseCpus(flag: string, value: string): number {
  const v = value.trim();
  let milli: number;
  if (/^\d+m$/.test(v)) milli = Number(v.slice(0, -1));
  else if (/^\d+(\.\d+)?$/.test(v)) milli = Math.round(Number(v) * 1000);
  else throw new CliError('USAGE', `${flag} ${value}: not a CPU amount; write e.g. 1, 0.5 or 500m`);
  if (milli < 10) throw new CliError('USAGE', `${flag} ${value}: must be at least 0.01 (10m)`);
  return milli;
}

/** A positive integer flag (`--pids 256`, `--nodes 2`). `min` defaults to 1. */
export function parseCount(flag: string, value: string, min = 1, max = 1_000_000): number {
  if (!/^\d+$/.test(value.trim()))
    throw new CliError('USAGE', `${flag} ${value}: must be a whole number`);
  const n = Number(value);
  if (n < min || n > max)
    throw new CliError('USAGE', `${flag} ${value}: must be between ${min} and ${max}`);
  return n;
}

/** Human form of a byte count, for summaries. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
