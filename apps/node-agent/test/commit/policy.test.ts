import { describe, expect, it } from 'vitest';
import {
  DEFAULT_COMMIT_MODE,
  DEFAULT_COMMIT_POLICY,
  shouldCommit,
} from '../../src/commit/policy.ts';

describe('shouldCommit', () => {
  it.each([
    ['always', 0, true],
    ['always', 1, true],
    ['always', null, true],
    ['on-success', 0, true],
    ['on-success', 1, false],
    ['on-success', 137, false],
    ['on-success', null, false],
    ['never', 0, false],
    ['never', null, false],
  ] as const)('%s with exit code %s → %s', (policy, exitCode, expected) => {
    expect(shouldCommit(policy, exitCode)).toBe(expected);
  });

  it('defaults to always and last-writer-wins', () => {
    expect(DEFAULT_COMMIT_POLICY).toBe('always');
    expect(DEFAULT_COMMIT_MODE).toBe('lww');
  });
});
