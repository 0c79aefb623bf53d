/** Permission levels, weakest first. The order is part of the contract: none < view < read < write. */
export const LEVELS = ['none', 'view', 'read', 'write'] as const;
export type Level = (typeof LEVELS)[number];

const RANK: Readonly<Record<Level, number>> = { none: 0, view: 1, read: 2, write: 3 };

export function levelRank(level: Level): number {
  return RANK[level];
}

/** True when `have` grants at least what `need` requires. */
export function levelAtLeast(have: Level, need: Level): boolean {
  return RANK[have] >= RANK[need];
}

export function isLevel(value: unknown): value is Level {
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}
