// The argv builder, without spawning anything.
import { describe, expect, it } from 'vitest';
import type { RootLayout } from '../../src/host/layout.ts';
import {
  buildBwrapArgs,
  mergeEnv,
  SANDBOX_FDS,
  sandboxFdPayloads,
} from '../../src/runner/bwrap-args.ts';
import { RunnerError } from '../../src/runner/errors.ts';
import { DEFAULT_LIMITS, sandboxSpec, type SandboxSpec } from '../../src/runner/spec.ts';
import { wrapperArgv, wrapperArgvWithFiles, JOIN_SCRIPT } from '../../src/runner/spawn.ts';

const layout: RootLayout = {
  bwrapPath: '/usr/bin/bwrap',
  setprivPath: '/usr/bin/setpriv',
  roots: [
    { kind: 'dir', path: '/usr' },
    { kind: 'symlink', path: '/bin', target: 'usr/bin' },
    { kind: 'symlink', path: '/lib', target: 'usr/lib' },
    { kind: 'dir', path: '/lib64' },
  ],
  etc: ['/etc/resolv.conf', '/etc/ssl'],
};
const spec = (over: Partial<SandboxSpec> = {}): SandboxSpec => ({
  ...sandboxSpec({
    sandboxId: 'sb1',
    workspaceDir: '/var/lib/cordon/mnt/sb1',
    uid: 2000001,
    gid: 2000001,
  }),
  ...over,
});
const build = (s = spec(), argv = ['echo', 'hi'], extra = {}): string[] =>
  buildBwrapArgs(s, { argv, ...extra }, layout);

/** Index of the bwrap flag section: between the bwrap path and the final '--'. */
function flags(args: string[]): string[] {
  const start = args.indexOf('/usr/bin/bwrap');
  return args.slice(start + 1, args.lastIndexOf('--'));
}
function pairs(args: string[], flag: string, n = 2): string[][] {
  const out: string[][] = [];
  args.forEach((a, i) => {
    if (a === flag) out.push(args.slice(i + 1, i + 1 + n));
  });
  return out;
}

describe('sandboxSpec defaults', () => {
  it('documents the defaults: network none, strict off, 1 GiB, 512 pids, 1 core, 64 MiB output', () => {
    const s = spec();
    expect(s.network).toBe('none');
    expect(s.strict).toBe(false);
    expect(s.limits).toEqual({
      memoryBytes: 1024 ** 3,
      pids: 512,
      cpuMillicores: 1000,
      outputBytes: 64 * 1024 ** 2,
    });
    expect(DEFAULT_LIMITS).toEqual(s.limits);
  });
});

describe('buildBwrapArgs', () => {
  it('drops to the sandbox uid with setpriv before bwrap, with no groups and no capabilities', () => {
    const a = build();
    expect(a.slice(0, a.indexOf('/usr/bin/bwrap'))).toEqual([
      '/usr/bin/setpriv',
      '--reuid=2000001',
      '--regid=2000001',
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--',
    ]);
  });

  it('isolates every namespace, drops capabilities, disables nested user namespaces', () => {
    const f = flags(build());
    for (const flag of [
      '--unshare-user',
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--unshare-cgroup',
      '--unshare-net',
      '--disable-userns',
      '--new-session',
      '--die-with-parent',
      '--clearenv',
    ]) {
      expect(f).toContain(flag);
    }
    expect(pairs(f, '--cap-drop', 1)).toEqual([['ALL']]);
    expect(pairs(f, '--hostname', 1)).toEqual([['cordon']]);
    expect(f).not.toContain('--share-net');
    expect(f).not.toContain('--uid'); // identity mapping: the real unprivileged uid inside
  });

  it("shares the network only for network 'host'", () => {
    expect(flags(build(spec({ network: 'host' })))).not.toContain('--unshare-net');
  });

  it('mounts only /usr, the top-level links, allow-listed /etc, /proc, /dev, tmpfs and /workspace', () => {
    const f = flags(build());
    expect(pairs(f, '--ro-bind')).toEqual([
      ['/usr', '/usr'],
      ['/lib64', '/lib64'],
    ]);
    expect(pairs(f, '--symlink')).toEqual([
      ['usr/bin', '/bin'],
      ['usr/lib', '/lib'],
    ]);
    expect(pairs(f, '--ro-bind-try')).toEqual([
      ['/etc/resolv.conf', '/etc/resolv.conf'],
      ['/etc/ssl', '/etc/ssl'],
    ]);
    expect(pairs(f, '--bind')).toEqual([['/var/lib/cordon/mnt/sb1', '/workspace']]);
    expect(pairs(f, '--proc', 1)).toEqual([['/proc']]);
    expect(pairs(f, '--dev', 1)).toEqual([['/dev']]);
    expect(pairs(f, '--tmpfs', 1)).toEqual([['/tmp'], ['/dev/shm']]);
    expect(pairs(f, '--ro-bind-data')).toEqual([
      [String(SANDBOX_FDS.passwd), '/etc/passwd'],
      [String(SANDBOX_FDS.group), '/etc/group'],
    ]);
    expect(f.join(' ')).not.toMatch(/\/root|\/home|\/etc\/shadow|--dev-bind/);
    // The root and /dev are made read-only after everything is mounted.
    const ro = pairs(f, '--remount-ro', 1);
    expect(ro).toEqual([['/dev'], ['/']]);
    expect(f.lastIndexOf('--remount-ro')).toBeGreaterThan(f.lastIndexOf('--bind'));
  });

  it('binds a prepared /etc snapshot in one mount when the layout has one', () => {
    const a = buildBwrapArgs(spec(), { argv: ['true'] }, { ...layout, etcDir: '/run/cordon/etc' });
    const f = flags(a);
    expect(pairs(f, '--ro-bind')).toContainEqual(['/run/cordon/etc', '/etc']);
    expect(f).not.toContain('--ro-bind-try');
  });

  it('uses /workspace as default cwd and honours an explicit one', () => {
    expect(pairs(flags(build()), '--chdir', 1)).toEqual([['/workspace']]);
    expect(pairs(flags(build(spec(), ['true'], { cwd: '/workspace/src' })), '--chdir', 1)).toEqual([
      ['/workspace/src'],
    ]);
  });

  it('passes argv verbatim after the last --', () => {
    const argv = ['bash', '-lc', 'echo $HOME; rm -rf / # not interpreted here', '--', '--bind'];
    const a = build(spec(), argv);
    expect(a.slice(a.length - argv.length)).toEqual(argv);
    expect(a[a.length - argv.length - 1]).toBe('--');
  });

  it('adds --seccomp on the fixed fd only in strict mode', () => {
    expect(flags(build())).not.toContain('--seccomp');
    expect(pairs(flags(build(spec({ strict: true }))), '--seccomp', 1)).toEqual([
      [String(SANDBOX_FDS.seccomp)],
    ]);
  });

  it('keeps --new-session unless a PTY caller opts out', () => {
    expect(flags(build(spec(), ['true'], { newSession: false }))).not.toContain('--new-session');
  });

  it('sets the environment explicitly after --clearenv: defaults < spec.env < req.env', () => {
    const s = spec({ env: { A: 'spec', B: 'spec' } });
    const f = flags(buildBwrapArgs(s, { argv: ['true'], env: { B: 'req' } }, layout));
    const env: Record<string, string | undefined> = Object.fromEntries(
      pairs(f, '--setenv').map(([k, v]) => [k ?? '', v ?? '']),
    );
    expect(env).toMatchObject({ A: 'spec', B: 'req', HOME: '/tmp', TERM: 'dumb', LANG: 'C.UTF-8' });
    expect(env.PATH).toContain('/usr/bin');
    expect(f.indexOf('--clearenv')).toBeLessThan(f.indexOf('--setenv'));
  });

  it.each([
    ['uid 0', { uid: 0 }],
    ['gid 0', { gid: 0 }],
    ['negative uid', { uid: -1 }],
    ['fractional uid', { uid: 1.5 }],
    ['bad sandboxId', { sandboxId: '../x' }],
    ['dot sandboxId', { sandboxId: '..' }],
    ['relative workspace', { workspaceDir: 'ws' }],
    ['zero memory', { limits: { ...DEFAULT_LIMITS, memoryBytes: 0 } }],
    ['tiny pids', { limits: { ...DEFAULT_LIMITS, pids: 1 } }],
    ['bad network', { network: 'bridge' as never }],
  ])('rejects an invalid spec: %s', (_, over) => {
    expect(() => build(spec(over))).toThrow(RunnerError);
    try {
      build(spec(over));
    } catch (err) {
      expect((err as RunnerError).code).toBe('INVALID_SPEC');
    }
  });

  it.each([
    ['empty argv', { argv: [] }],
    ['NUL in argv', { argv: ['echo', 'a\0b'] }],
    ['relative cwd', { argv: ['true'], cwd: 'src' }],
    ['bad env name', { argv: ['true'], env: { 'A=B': 'x' } }],
    ['NUL in env', { argv: ['true'], env: { A: 'x\0' } }],
  ])('rejects an invalid request: %s', (_, req) => {
    expect(() => buildBwrapArgs(spec(), req, layout)).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST' }),
    );
  });
});

describe('payloads and wrapper', () => {
  it('synthesises passwd/group with the sandbox uid and hides the host users', () => {
    const p = sandboxFdPayloads(spec(), null);
    const passwd = new TextDecoder().decode(p.get(SANDBOX_FDS.passwd));
    expect(passwd).toContain('sandbox:x:2000001:2000001:');
    expect(passwd.split('\n').filter(Boolean)).toHaveLength(3);
    expect(new TextDecoder().decode(p.get(SANDBOX_FDS.group))).toContain('sandbox:x:2000001:');
    expect(p.has(SANDBOX_FDS.seccomp)).toBe(false);
  });

  it('requires the seccomp program in strict mode (fails closed)', () => {
    expect(() => sandboxFdPayloads(spec({ strict: true }), null)).toThrow(RunnerError);
    expect(
      sandboxFdPayloads(spec({ strict: true }), new Uint8Array(8)).get(SANDBOX_FDS.seccomp),
    ).toHaveLength(8);
  });

  it('passes cgroup files and argv to the join wrapper as arguments, never in the script', () => {
    const w = wrapperArgv(
      ['/sys/fs/cgroup/pids/cordon/a/b/cgroup.procs'],
      ['/usr/bin/setpriv', 'x; rm -rf /'],
    );
    expect(w).toEqual([
      '/bin/bash',
      '--norc',
      '-p',
      '-c',
      JOIN_SCRIPT,
      'cordon-exec',
      '/sys/fs/cgroup/pids/cordon/a/b/cgroup.procs',
      '--',
      '/usr/bin/setpriv',
      'x; rm -rf /',
    ]);
    expect(JOIN_SCRIPT).not.toContain('cordon/');
    const f = wrapperArgvWithFiles(['/c'], { passwd: '/p', group: '/g', seccomp: null }, ['cmd']);
    expect(f.slice(6)).toEqual(['/c', '--', '/p', '/g', '/dev/null', 'cmd']);
  });

  it('mergeEnv validates names', () => {
    expect(() => mergeEnv(spec({ env: { '1X': 'a' } }), {})).toThrow(RunnerError);
  });
});
