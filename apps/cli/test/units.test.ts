import { describe, expect, it } from 'vitest';
import { CliError, parseCount, parseCpus, parseDuration, parseSize } from '@cordon/cli';

describe('sizes, durations and CPUs as people write them', () => {
  it.each([
    ['512m', 512 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5GiB', 1.5 * 1024 ** 3],
    ['64k', 65536],
    ['1000', 1000],
  ])('size %s', (v, n) => expect(parseSize('--memory', v)).toBe(n));
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1500ms', 1500],
    ['1h30m', 5_400_000],
    ['2', 2000],
  ])('duration %s', (v, n) => expect(parseDuration('--timeout', v)).toBe(n));
  it.each([
    ['1', 1000],
    ['0.5', 500],
    ['1500m', 1500],
  ])('cpus %s', (v, n) => expect(parseCpus('--cpus', v)).toBe(n));
  it.each([
    () => parseSize('--memory', '12q'),
    () => parseSize('--memory', '0'),
    () => parseDuration('--timeout', '5 minutes'),
    () => parseDuration('--timeout', '0s'),
    () => parseCpus('--cpus', 'two'),
    () => parseCount('--pids', '-3'),
  ])('bad input is a USAGE error naming the flag (%#)', (fn) => {
    try {
      fn();
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CliError);
      expect((err as CliError).exitCode).toBe(2);
      expect((err as CliError).message).toMatch(/^--\w+ /);
    }
  });
});
