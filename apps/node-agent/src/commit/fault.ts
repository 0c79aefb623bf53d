// Crash injection for tests: at named points of the commit protocol the process kills itself with
// SIGKILL, exactly like `kill -9` from outside, so a test can check that recovery leaves the codebase
// entirely before or entirely after the commit. Off unless a spec is given (by default from the
// CORDON_COMMIT_CRASH_AT environment variable).

/** The named points, in protocol order. Points marked (each) are hit once per entry. */
export const FAULT_POINTS = [
  /** The commit lock is held; nothing else happened. */
  'locked',
  /** The intent record (state 'prepared', with every staged and trash name) is durable. */
  'prepared',
  /** (each) One more entry is staged beside its target. */
  'staging',
  /** Everything is staged and fsynced; the commit record is not written. */
  'staged',
  /** The commit record (state 'committed') is durable: from here on recovery rolls forward. */
  'committed',
  /** (each) An existing target was moved aside to its trash name; the staged entry is not in place yet. */
  'trashed',
  /** (each) One more operation (replace, delete, chmod) is applied. */
  'applying',
  /** Every operation is applied and the touched directories are fsynced. */
  'applied',
  /** Trash (replaced and deleted entries) is removed. */
  'cleaned',
  /** The delta is cleared. */
  'delta-cleared',
  /** The journal is removed; the lock is still held. */
  'journal-removed',
] as const;

export type FaultPoint = (typeof FAULT_POINTS)[number];

export const CRASH_ENV = 'CORDON_COMMIT_CRASH_AT';

export interface FaultInjector {
  /** Called at each named point; kills the process when this is the chosen point and hit. */
  hit(point: FaultPoint): void;
}

export const NO_FAULTS: FaultInjector = { hit: () => undefined };

/** Parses `point` or `point:N` (crash at the N-th hit, 1-based; default 1). */
export function parseFaultSpec(spec: string): { point: FaultPoint; nth: number } {
  const [name, nthText] = spec.split(':', 2);
  const point = FAULT_POINTS.find((p) => p === name);
  if (point === undefined) {
    throw new Error(`unknown crash point '${spec}': use one of ${FAULT_POINTS.join(', ')}`);
  }
  const nth = nthText === undefined ? 1 : Number(nthText);
  if (!Number.isInteger(nth) || nth < 1) {
    throw new Error(`crash point '${spec}': the hit count after ':' must be a positive integer`);
  }
  return { point, nth };
}

/** An injector for `spec`; without a spec (or with an empty one) it never fires. */
export function createFaultInjector(
  spec: string | undefined = process.env[CRASH_ENV],
  crash: () => void = () => process.kill(process.pid, 'SIGKILL'),
): FaultInjector {
  if (spec === undefined || spec === '') return NO_FAULTS;
  const { point, nth } = parseFaultSpec(spec);
  let hits = 0;
  return {
    hit(p) {
      if (p !== point) return;
      hits += 1;
      if (hits === nth) crash();
    },
  };
}
