import { describe, expect, it } from 'vitest';
import { detectRootLayout } from '../../src/host/layout.ts';
import { CLOSE_INHERITED, JOIN_CGROUPS, JOIN_SCRIPT } from '../../src/runner/spawn.ts';
import { standbyBudget } from '../../src/runner/runner.ts';
import { DEFAULT_LIMITS, sandboxSpec } from '../../src/runner/spec.ts';
import {
  PRIMED_STUB,
  primedSandboxArgv,
  STANDBY_SCRIPT,
  standbyArgv,
  standbyMessage,
  type StandbyExec,
} from '../../src/runner/standby.ts';

/** Parses a message the way the stub does (the bash side is tested in the .int test). */
function parse(msg: Buffer): { delimiter: number; stdin: string } & StandbyExec {
  const delimiter = msg[0] as number;
  expect(msg[1]).toBe(0x20);
  const stdin = String.fromCharCode(msg[2] as number);
  const rest = msg.subarray(4);
  const space = rest.indexOf(0x20);
  const n = Number(rest.subarray(0, space).toString('latin1'));
  const body = rest.subarray(space + 1);
  expect(body.length).toBe(n);
  expect(body.at(-1)).toBe(delimiter);
  const [cwd, count, ...more] = body
    .subarray(0, -1)
    .toString('utf8')
    .split(String.fromCharCode(delimiter));
  const envEntries = more.slice(0, Number(count));
  const env = Object.fromEntries(
    envEntries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
  return { delimiter, stdin, cwd: cwd as string, env, argv: more.slice(Number(count)) };
}

const exec = (argv: string[], env: Record<string, string> = { PATH: '/bin' }): StandbyExec => ({
  argv,
  cwd: '/workspace',
  env,
});

describe('standby message', () => {
  it('round-trips cwd, environment, argv, empty entries and UTF-8 with a free delimiter', () => {
    const argv = ['/usr/bin/env', '', 'a b\nc\td', 'ünï ✓', '\u0002\u0003x', ''];
    const env = { PATH: '/usr/bin', EMPTY: '', WEIRD: 'x=y\n\u0004z' };
    const msg = standbyMessage({ argv, cwd: '/workspace/sub dir', env }, 'ignore');
    expect(msg).not.toBeNull();
    const p = parse(msg as Buffer);
    expect(p).toMatchObject({ argv, env, cwd: '/workspace/sub dir', stdin: 'i' });
    // \x02, \x03 and \x04 occur in entries, so the next candidate is used.
    expect(p.delimiter).toBe(0x05);
    expect(parse(standbyMessage(exec(['x']), 'pipe') as Buffer).stdin).toBe('p');
    expect(parse(standbyMessage(exec(['x'], {}), 'pipe') as Buffer).env).toEqual({});
  });

  it('counts the body in bytes, not UTF-16 units', () => {
    const msg = standbyMessage({ argv: ['€€'], cwd: '/', env: {} }, 'ignore') as Buffer;
    expect(parse(msg).argv).toEqual(['€€']);
    // "/", "0", "€€" (6 bytes) and three delimiters.
    expect(msg.toString('latin1')).toContain(' 11 ');
  });

  it('never uses tab, newline, space, CTLESC (\\x01) or CTLNUL (\\x7f) as the delimiter', () => {
    const all = Array.from({ length: 0x20 }, (_, c) => String.fromCharCode(c))
      .filter((ch) => ![0x00].includes(ch.charCodeAt(0)))
      .join('');
    // Every candidate used: not encodable, the runner spawns the plain wrapper.
    expect(standbyMessage(exec(['cmd', all]), 'ignore')).toBeNull();
    expect(standbyMessage(exec(['cmd'], { X: all }), 'ignore')).toBeNull();
    for (let c = 0; c < 0x20; c++) {
      const msg = standbyMessage(exec(['cmd', String.fromCharCode(c)]), 'ignore');
      if (msg) expect([0x01, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x7f]).not.toContain(msg[0]);
    }
    expect(standbyMessage(exec([]), 'ignore')).toBeNull();
  });

  it('leaves environment names bash gives a meaning of its own to the plain wrapper', () => {
    for (const name of ['SHLVL', 'RANDOM', 'UID', 'BASH_ENV', 'BASHOPTS', 'SECONDS', '_']) {
      expect(standbyMessage(exec(['true'], { [name]: '1' }), 'ignore')).toBeNull();
    }
    expect(standbyMessage(exec(['true'], { SHELL: '/bin/sh', IFS: ':' }), 'ignore')).not.toBeNull();
  });
});

describe('standby argv', () => {
  it('dies with the agent, gets its own pid namespace, joins inside it, then runs bwrap', () => {
    const procs = ['/sys/fs/cgroup/pids/cordon/a/x1/cgroup.procs', '/c2'];
    const sandbox = ['/usr/bin/setpriv', '--reuid=5', '--', '/usr/bin/bwrap', '--', 'stub'];
    const argv = standbyArgv(procs, { setprivPath: '/usr/bin/setpriv' }, sandbox);
    expect(argv).toEqual([
      '/usr/bin/setpriv',
      '--pdeathsig',
      'KILL',
      '--',
      '/usr/bin/unshare',
      '--pid',
      '--fork',
      '--kill-child',
      '--',
      '/bin/bash',
      '--norc',
      '-p',
      '-c',
      STANDBY_SCRIPT,
      'cordon-exec',
      ...procs,
      '--',
      ...sandbox,
    ]);
    // The paths are arguments, never in the script.
    expect(STANDBY_SCRIPT).not.toContain('cordon/');
    // Same steps as the per-exec wrapper: close inherited fds >= 10, join (in the subshell), 125.
    expect(JOIN_SCRIPT.startsWith(CLOSE_INHERITED + JOIN_CGROUPS)).toBe(true);
    expect(STANDBY_SCRIPT.startsWith(CLOSE_INHERITED)).toBe(true);
    expect(STANDBY_SCRIPT).toContain(`( exec 2>&8 8>&-; ${JOIN_CGROUPS}exec "$@" )`);
  });

  it('primes bwrap with the sandbox isolation, a neutral cwd and only the stub environment', () => {
    const layout = detectRootLayout();
    const spec = sandboxSpec({ sandboxId: 's1', workspaceDir: '/ws', uid: 5000, gid: 5000 });
    const argv = primedSandboxArgv(spec, layout);
    expect(argv[0]).toBe(layout.setprivPath);
    expect(argv).toContain('--reuid=5000');
    expect(argv).toContain('--cap-drop');
    expect(argv).toContain('--unshare-net');
    expect(argv.join(' ')).toContain('--bind /ws /workspace --chdir /');
    // No sandbox environment yet: it comes with the message.
    const setenv = argv.flatMap((a, i) => (a === '--setenv' ? [argv[i + 1]] : []));
    expect(setenv).toEqual(['LC_ALL']);
    expect(argv.slice(-7)).toEqual([
      '--',
      '/bin/bash',
      '--norc',
      '-p',
      '-c',
      PRIMED_STUB,
      'cordon-exec',
    ]);
  });
});

describe('standby budget', () => {
  it('keeps idle standbys within 1/8 of the pids limit and 1/16 of the memory limit', () => {
    const MiB = 1024 * 1024;
    expect(standbyBudget(DEFAULT_LIMITS)).toBeGreaterThanOrEqual(2);
    expect(standbyBudget({ ...DEFAULT_LIMITS, pids: 16 })).toBe(0);
    expect(standbyBudget({ ...DEFAULT_LIMITS, pids: 48 })).toBe(2);
    expect(standbyBudget({ ...DEFAULT_LIMITS, memoryBytes: 64 * MiB })).toBe(1);
    expect(standbyBudget({ ...DEFAULT_LIMITS, memoryBytes: 32 * MiB })).toBe(0);
  });
});
