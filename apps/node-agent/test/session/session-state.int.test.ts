// Sessions keep shell state between commands: cwd, variables, exports, functions, aliases,
// options, `$?`; unset persists too; commands run one at a time in call order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSession, type ShellSession } from '../../src/session/index.ts';
import { setupTestHost, type TestHost } from './helpers.ts';

let t: TestHost;
let s: ShellSession;
beforeAll(async () => {
  t = await setupTestHost();
  s = await openSession(await t.sandbox());
});
afterAll(async () => {
  await s?.close();
  await t?.cleanup();
});

describe('session state', () => {
  it('starts in /workspace as the sandbox user', async () => {
    const r = await s.run('pwd; id -u; echo "$HOME"');
    expect(r.exitCode).toBe(0);
    const [cwd, uid] = r.stdout.split('\n');
    expect(cwd).toBe('/workspace');
    expect(Number(uid)).not.toBe(0);
  });

  it('keeps cwd, exported and plain variables, functions and aliases', async () => {
    const set = await s.run(
      'mkdir -p /tmp/a/b && cd /tmp/a; export GREETING="hello world"; plain=42; greet() { echo "$GREETING, $1"; }; alias ll="echo aliased"; shopt -s expand_aliases',
    );
    expect(set).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
    const r = await s.run(
      'pwd; echo "$plain"; greet you; ll; bash -c \'echo "child sees: $GREETING"\'',
    );
    expect(r.stdout).toBe('/tmp/a\n42\nhello world, you\naliased\nchild sees: hello world\n');
    const cd = await s.run('cd b && pwd');
    expect(cd.stdout).toBe('/tmp/a/b\n');
    expect((await s.run('pwd')).stdout).toBe('/tmp/a/b\n');
  });

  it('keeps arrays, associative arrays and values with newlines and quotes', async () => {
    await s.run(
      `arr=(1 "two words" $'line\\nbreak'); declare -A map=([k]="v'\\"q"); multi=$'a\\nb'`,
    );
    const r = await s.run('printf "[%s]" "${arr[@]}"; echo; echo "${map[k]}"; echo "$multi"');
    expect(r.stdout).toBe(`[1][two words][line\nbreak]\nv'"q\na\nb\n`);
  });

  it('persists unset variables and functions, and export -n', async () => {
    await s.run('export GONE=1 KEEP=1; gone() { :; }');
    await s.run('unset GONE; unset -f gone; export -n KEEP; unset HOME');
    const r = await s.run(
      'echo "[${GONE-unset}] [${HOME-unset}]"; type gone >/dev/null 2>&1 || echo no-gone; bash -c \'echo "[${KEEP-not exported}]"\'; echo "$KEEP"',
    );
    expect(r.stdout).toBe('[unset] [unset]\nno-gone\n[not exported]\n1\n');
  });

  it('starts each command with the previous status in $?', async () => {
    await s.run('false');
    expect((await s.run('echo "$?"')).stdout).toBe('1\n');
    await s.run('(exit 7)');
    expect((await s.run('echo "$?"')).stdout).toBe('7\n');
  });

  it('keeps shell options (errexit/nounset apply to the next commands)', async () => {
    await s.run('set -u; shopt -s nullglob');
    const r = await s.run('echo /nonexistent-*; echo "$undefined_variable"; echo not-reached');
    expect(r.stdout).toBe('\n');
    expect(r.stderr).toMatch(/undefined_variable: unbound variable/);
    expect(r.exitCode).not.toBe(0);
    await s.run('set +u; shopt -u nullglob');
    expect((await s.run('echo "[$undefined_variable]"')).stdout).toBe('[]\n');
  });

  it('reports exit codes, and `exit` ends only the command (its state changes are dropped)', async () => {
    await s.run('cd /tmp');
    const r = await s.run('cd /; echo bye; exit 3');
    expect(r).toMatchObject({ exitCode: 3, stdout: 'bye\n' });
    expect((await s.run('pwd')).stdout).toBe('/tmp\n');
  });

  it('runs concurrent calls one at a time, in call order', async () => {
    const results = await Promise.all([
      s.run('X=1; sleep 0.2; echo first'),
      s.run('echo "second $X"'),
      s.run('echo third'),
    ]);
    expect(results.map((r) => r.stdout)).toEqual(['first\n', 'second 1\n', 'third\n']);
  });

  it('rejects a command containing NUL', () => {
    expect(() => s.stream('echo a\0b')).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST' }) as Error,
    );
  });
});
