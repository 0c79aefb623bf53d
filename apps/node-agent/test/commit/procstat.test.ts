import { describe, expect, it } from 'vitest';
import { parseProcStat } from '../../src/commit/lock.ts';

function statLine(comm: string, state: string, start: string): string {
  // Fields 4..21 are filler; field 22 is the start time.
  const filler = Array.from({ length: 18 }, (_, i) => String(i + 4)).join(' ');
  return `1234 (${comm}) ${state} ${filler} ${start} 999 0\n`;
}

describe('parseProcStat', () => {
  it('reads state and start time', () => {
    expect(parseProcStat(statLine('node', 'S', '987654'))).toEqual({
      state: 'S',
      startTime: '987654',
    });
  });

  it('copes with spaces and parentheses in the command name', () => {
    expect(parseProcStat(statLine('a) Z (b', 'R', '42'))).toEqual({ state: 'R', startTime: '42' });
  });

  it('sees zombies', () => {
    expect(parseProcStat(statLine('x', 'Z', '1'))?.state).toBe('Z');
  });

  it.each(['', 'garbage', '1 (x) S 1 2'])('returns null for %j', (text) => {
    expect(parseProcStat(text)).toBeNull();
  });
});
