import { describe, expect, it } from 'vitest';
import { CLOSE_INHERITED, JOIN_CGROUPS, JOIN_SCRIPT } from '../../src/runner/spawn.ts';
import {
  STANDBY_SCRIPT,
  STANDBY_CONTROL_FD,
  standbyArgv,
  standbyMessage,
} from '../../src/runner/standby.ts';

/** Parses a control message the way the wrapper does (the bash side is tested in the .int test). */
function parse(msg: Buffer): { delimiter: number; stdin: string; argv: string[] } {
  const delimiter = msg[0] as number;
  expect(msg[1]).toBe(0x20);
  const stdin = String.fromCharCode(msg[2] as number);
  const rest = msg.subarray(4);
  const space = rest.indexOf(0x20);
  const n = Number(rest.subarray(0, space).toString('latin1'));
  const body = rest.subarray(space + 1);
  expect(body.length).toBe(n);
  expect(body.at(-1)).toBe(delimiter);
  const argv = body.subarray(0, -1).toString('utf8').split(String.fromCharCode(delimiter));
  return { delimiter, stdin, argv };
}

describe('standby control message', () => {
  it('round-trips argv, empty entries and UTF-8 with a delimiter absent from the argv', () => {
    const argv = ['/usr/bin/setpriv', '', 'a b\nc\td', 'ünï ✓', '\u0002\u0003x', ''];
    const msg = standbyMessage(argv, 'ignore');
    expect(msg).not.toBeNull();
    const p = parse(msg as Buffer);
    expect(p.argv).toEqual(argv);
    expect(p.stdin).toBe('i');
    // \x02 and \x03 occur in an argument, so the next candidate is used.
    expect(p.delimiter).toBe(0x04);
    expect(parse(standbyMessage(['x'], 'pipe') as Buffer).stdin).toBe('p');
  });

  it('counts the body in bytes, not UTF-16 units', () => {
    const msg = standbyMessage(['€€'], 'ignore') as Buffer;
    expect(parse(msg).argv).toEqual(['€€']);
    expect(msg.toString('latin1')).toContain(' 7 ');
  });

  it('never uses tab, newline, space, CTLESC (\\x01) or CTLNUL (\\x7f) as the delimiter', () => {
    const all = Array.from({ length: 0x20 }, (_, c) => String.fromCharCode(c))
      .filter((ch) => ![0x00].includes(ch.charCodeAt(0)))
      .join('');
    // Every candidate used: not encodable, the runner spawns the usual way.
    expect(standbyMessage(['cmd', all], 'ignore')).toBeNull();
    for (let c = 0; c < 0x20; c++) {
      const msg = standbyMessage(['cmd', String.fromCharCode(c)], 'ignore');
      if (msg) expect([0x01, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x7f]).not.toContain(msg[0]);
    }
    expect(standbyMessage([], 'ignore')).toBeNull();
  });
});

describe('standby wrapper argv', () => {
  it('dies with the agent, gets its own pid namespace, joins inside it', () => {
    const procs = ['/sys/fs/cgroup/pids/cordon/a/x1/cgroup.procs', '/c2'];
    const argv = standbyArgv(procs, { setprivPath: '/usr/bin/setpriv' });
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
    ]);
    // The paths are arguments, never in the script.
    expect(STANDBY_SCRIPT).not.toContain('cordon/');
    // Same steps as the per-exec wrapper: close inherited fds >= 10, join (in the subshell), 125.
    expect(JOIN_SCRIPT.startsWith(CLOSE_INHERITED + JOIN_CGROUPS)).toBe(true);
    expect(STANDBY_SCRIPT.startsWith(CLOSE_INHERITED)).toBe(true);
    expect(STANDBY_SCRIPT).toContain(`( exec 2>&8 8>&-; ${JOIN_CGROUPS}`);
    // The control fd is closed before the sandbox runs.
    expect(STANDBY_SCRIPT).toContain(`exec ${STANDBY_CONTROL_FD}<&-`);
  });
});
