import { z } from 'zod';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Defaults from product-decisions.md: memory 1 GiB, pids 512, 1 CPU, no timeout, output 64 MiB. */
export const DEFAULT_LIMITS = Object.freeze({
  memoryBytes: GiB,
  cpuMillicores: 1000,
  pids: 512,
  timeoutMs: null,
  outputBytes: 64 * MiB,
});

export const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;

const memoryBytes = z
  .int('memoryBytes must be an integer number of bytes')
  .min(16 * MiB, 'memoryBytes must be at least 16 MiB (16777216)')
  .max(1024 * GiB, 'memoryBytes must be at most 1 TiB');
const cpuMillicores = z
  .int('cpuMillicores must be an integer (1000 = one core)')
  .min(10, 'cpuMillicores must be at least 10')
  .max(1_024_000, 'cpuMillicores must be at most 1024000');
const pids = z
  .int('pids must be an integer')
  .min(1, 'pids must be at least 1')
  .max(1_000_000, 'pids must be at most 1000000');
const timeoutMs = z
  .int('timeoutMs must be an integer number of milliseconds')
  .min(1, 'timeoutMs must be positive')
  .max(MAX_TIMEOUT_MS, 'timeoutMs must be at most 24 h (86400000)')
  .nullable();
const outputBytes = z
  .int('outputBytes must be an integer number of bytes')
  .min(0, 'outputBytes must not be negative')
  .max(16 * GiB, 'outputBytes must be at most 16 GiB');

/** Sandbox limits; every field is optional on input and defaulted (see DEFAULT_LIMITS). */
export const LimitsSchema = z.strictObject({
  memoryBytes: memoryBytes.default(DEFAULT_LIMITS.memoryBytes),
  cpuMillicores: cpuMillicores.default(DEFAULT_LIMITS.cpuMillicores),
  pids: pids.default(DEFAULT_LIMITS.pids),
  timeoutMs: timeoutMs.default(DEFAULT_LIMITS.timeoutMs),
  outputBytes: outputBytes.default(DEFAULT_LIMITS.outputBytes),
});
/** Limits after defaults are applied (what travels to the node). */
export type Limits = z.output<typeof LimitsSchema>;
/** Limits as a caller writes them (every field optional). */
export type LimitsInput = z.input<typeof LimitsSchema>;

/** Per-exec overrides of the sandbox's limits: the same fields, none defaulted. */
export const LimitsOverrideSchema = z.strictObject({
  memoryBytes: memoryBytes.optional(),
  cpuMillicores: cpuMillicores.optional(),
  pids: pids.optional(),
  timeoutMs: timeoutMs.optional(),
  outputBytes: outputBytes.optional(),
});
export type LimitsOverride = z.output<typeof LimitsOverrideSchema>;

/** The sandbox's limits with an exec's overrides applied. */
export function mergeLimits(base: Limits, override: LimitsOverride | undefined): Limits {
  if (!override) return base;
  return {
    memoryBytes: override.memoryBytes ?? base.memoryBytes,
    cpuMillicores: override.cpuMillicores ?? base.cpuMillicores,
    pids: override.pids ?? base.pids,
    timeoutMs: override.timeoutMs === undefined ? base.timeoutMs : override.timeoutMs,
    outputBytes: override.outputBytes ?? base.outputBytes,
  };
}
