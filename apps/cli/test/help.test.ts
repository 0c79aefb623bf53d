import { describe, expect, it } from 'vitest';
import { main } from '@cordon/cli';

const COMMANDS = [
  [],
  ['up'],
  ['run'],
  ['sandbox'],
  ['sandbox', 'create'],
  ['sandbox', 'ls'],
  ['sandbox', 'rm'],
  ['exec'],
  ['shell'],
  ['logs'],
  ['nodes'],
  ['token', 'create'],
  ['token', 'ls'],
  ['token', 'revoke'],
  ['preview'],
  ['policy', 'explain'],
  ['gateway'],
  ['node'],
];

async function help(args: readonly string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main([...args, '--help'], {
    stdout: (s) => (out += String(s)),
    stderr: () => undefined,
    env: {},
  });
  return { code, out };
}

describe('cordon --help', () => {
  it.each(COMMANDS)('%s --help is stable and shows examples', async (...args) => {
    const r = await help(args);
    expect(r.code).toBe(0);
    // Command groups list their subcommands; every command shows examples.
    if (args.join(' ') !== 'sandbox') expect(r.out).toContain('Examples:');
    expect(r.out).toMatchSnapshot();
  });
});
