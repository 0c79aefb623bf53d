// Strict mode for real: every listed syscall, called raw through python3 ctypes inside the
// sandbox, fails with EPERM (clone3: ENOSYS). A non-strict control run shows most of them behave
// differently without the filter, so it is the filter — not missing capabilities — that denies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DENIED_SYSCALLS,
  hostSeccompArch,
  SYSCALLS,
  type SyscallName,
} from '../../src/seccomp/syscalls.ts';
import { run, setupTestHost, type TestHost } from '../runner/helpers.ts';

const arch = hostSeccompArch();
const CLONE_NEWUSER_SIGCHLD = 0x10000000 | 17;

/** Harmless arguments: without the filter each call fails on its arguments or is a no-op. */
const ARGS: Record<Exclude<SyscallName, 'clone' | 'clone3'>, number[]> = {
  ptrace: [16, 999999, 0, 0],
  mount: [0, 0, 0, 0, 0],
  umount2: [0, 0],
  pivot_root: [0, 0],
  kexec_load: [0, 0, 0, 0],
  kexec_file_load: [-1, -1, 0, 0, 0],
  bpf: [0, 0, 0],
  perf_event_open: [0, 0, -1, -1, 0],
  keyctl: [0, -3, 0],
  add_key: [0, 0, 0, 0, 0],
  request_key: [0, 0, 0, 0],
  userfaultfd: [0],
  open_by_handle_at: [-1, 0, 0],
  init_module: [0, 0, 0],
  finit_module: [-1, 0, 0],
  delete_module: [0, 0],
  reboot: [0, 0, 0, 0],
  swapon: [0, 0],
  swapoff: [0],
  setns: [-1, 0],
  unshare: [0],
  io_uring_setup: [0, 0],
  io_uring_enter: [-1, 0, 0, 0, 0, 0],
  io_uring_register: [-1, 0, 0, 0],
  open_tree: [-1, 0, 0],
  move_mount: [-1, 0, -1, 0, 0],
  fsopen: [0, 0],
  fsconfig: [-1, 0, 0, 0, 0],
  fsmount: [-1, 0, 0],
  fspick: [-1, 0, 0],
  mount_setattr: [-1, 0, 0, 0, 0],
};

function probeScript(): string {
  if (!arch) return '';
  const nrs = SYSCALLS[arch];
  const calls: [string, number, number[]][] = DENIED_SYSCALLS.map((n) => [
    n,
    nrs[n],
    ARGS[n as keyof typeof ARGS],
  ]);
  calls.push(['clone3', nrs.clone3, [0, 0]]);
  calls.push(['clone_newuser', nrs.clone, [CLONE_NEWUSER_SIGCHLD, 0, 0, 0, 0]]);
  if (arch === 'x86_64') calls.push(['x32_getpid', 0x40000000 | 39, []]);
  return `
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
out = {}
for name, nr, args in ${JSON.stringify(calls)}:
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    if r == 0 and name == "clone_newuser":
        os._exit(0)  # a child, had the call succeeded
    out[name] = ctypes.get_errno() if r == -1 else "ok"
print(json.dumps(out))
`;
}

let t: TestHost;
beforeAll(async () => {
  t = await setupTestHost();
});
afterAll(async () => {
  await t?.cleanup();
});

describe.skipIf(arch === null)('strict mode (seccomp) on this host', () => {
  it('denies every listed syscall with EPERM, clone3 with ENOSYS', async () => {
    const r = await t.sandbox({ strict: true });
    const { result, stdout, stderr } = await run(r, ['python3', '-c', probeScript()]);
    expect(stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const errnos = JSON.parse(stdout) as Record<string, number | 'ok'>;
    for (const name of DENIED_SYSCALLS)
      expect({ name, errno: errnos[name] }).toEqual({ name, errno: 1 });
    expect(errnos.clone3).toBe(38);
    expect(errnos.clone_newuser).toBe(1);
    if (arch === 'x86_64') expect(errnos.x32_getpid).toBe(1);
  });

  it('the same calls behave differently without strict (control)', async () => {
    const r = await t.sandbox({ strict: false });
    const { stdout } = await run(r, ['python3', '-c', probeScript()]);
    const errnos = JSON.parse(stdout) as Record<string, number | 'ok'>;
    // No filter: ptrace fails on the pid, unshare(0) is a no-op, setns on the fd, add_key on the
    // pointer, io_uring_setup on its arguments, clone3 on its NULL struct.
    for (const name of ['ptrace', 'unshare', 'setns', 'add_key', 'io_uring_setup', 'clone3']) {
      expect({ name, errno: errnos[name] }).not.toEqual({ name, errno: 1 });
    }
    expect(errnos.clone3).not.toBe(38);
  });

  it('reports the filter as active and keeps normal programs working', async () => {
    const r = await t.sandbox({ strict: true });
    const script = `grep Seccomp: /proc/self/status
python3 -c 'import threading, subprocess, os
t = threading.Thread(target=lambda: None); t.start(); t.join()
pid = os.fork()
if pid == 0: os._exit(3)
print("fork", os.waitpid(pid, 0)[1] >> 8)
print(subprocess.run(["echo", "sub"], capture_output=True, text=True).stdout.strip())'
unshare -U true 2>/dev/null || echo "unshare denied"`;
    const { result, stdout } = await run(r, ['bash', '-c', script]);
    expect(result.exitCode).toBe(0);
    expect(stdout).toBe('Seccomp:\t2\nfork 3\nsub\nunshare denied\n');
  });
});
