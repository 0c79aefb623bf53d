import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileSeccompFilter,
  decodeBpf,
  encodeBpf,
  SECCOMP_RET,
  seccompInstructions,
} from '../../src/seccomp/filter.ts';
import {
  AUDIT_ARCH,
  CLONE_NEWUSER,
  DENIED_SYSCALLS,
  hostSeccompArch,
  SYSCALLS,
  X32_SYSCALL_BIT,
  type SeccompArch,
} from '../../src/seccomp/syscalls.ts';
import { runSeccomp } from './bpf-interp.ts';

const EPERM = SECCOMP_RET.ERRNO | 1;
const ENOSYS = SECCOMP_RET.ERRNO | 38;
const ARCHES: SeccompArch[] = ['x86_64', 'aarch64'];
const SIGCHLD = 17;

describe.each(ARCHES)('seccomp filter (%s)', (arch) => {
  const prog = seccompInstructions(arch);
  const nrs = SYSCALLS[arch];
  const call = (nr: number, args: bigint[] = []): number =>
    runSeccomp(prog, { nr, arch: AUDIT_ARCH[arch], args });

  it('kills the process for any other architecture', () => {
    for (const other of [
      0x40000003 /* i386 */,
      AUDIT_ARCH[arch === 'x86_64' ? 'aarch64' : 'x86_64'],
      0,
    ]) {
      expect(runSeccomp(prog, { nr: 0, arch: other })).toBe(SECCOMP_RET.KILL_PROCESS);
    }
  });

  it.each(DENIED_SYSCALLS)('denies %s with EPERM', (name) => {
    expect(call(nrs[name])).toBe(EPERM);
  });

  it('makes clone3 fail with ENOSYS so libc falls back to clone', () => {
    expect(call(nrs.clone3)).toBe(ENOSYS);
  });

  it('denies clone with CLONE_NEWUSER and allows fork/thread clones', () => {
    expect(call(nrs.clone, [BigInt(CLONE_NEWUSER | SIGCHLD)])).toBe(EPERM);
    expect(call(nrs.clone, [BigInt(CLONE_NEWUSER) | (1n << 40n)])).toBe(EPERM);
    expect(call(nrs.clone, [BigInt(SIGCHLD)])).toBe(SECCOMP_RET.ALLOW);
    // pthread_create's flags: VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
    expect(call(nrs.clone, [0x3d0f00n])).toBe(SECCOMP_RET.ALLOW);
  });

  it('allows every syscall outside the list', () => {
    const denied = new Set<number>([...DENIED_SYSCALLS.map((n) => nrs[n]), nrs.clone3, nrs.clone]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 600 }), (nr) => {
        fc.pre(!denied.has(nr));
        expect(call(nr)).toBe(SECCOMP_RET.ALLOW);
      }),
      { numRuns: 500 },
    );
  });

  it('encodes to struct sock_filter bytes and back', () => {
    const bytes = encodeBpf(prog);
    expect(bytes.byteLength).toBe(prog.length * 8);
    expect(decodeBpf(bytes)).toEqual(prog);
    expect(prog.length).toBeLessThan(4096); // BPF_MAXINSNS
  });
});

describe('x86_64 specifics', () => {
  it('denies the x32 ABI', () => {
    const prog = seccompInstructions('x86_64');
    expect(runSeccomp(prog, { nr: X32_SYSCALL_BIT | 39, arch: AUDIT_ARCH.x86_64 })).toBe(EPERM);
  });

  it('uses the kernel numbers', () => {
    expect(SYSCALLS.x86_64.ptrace).toBe(101);
    expect(SYSCALLS.aarch64.ptrace).toBe(117);
    expect(SYSCALLS.x86_64.unshare).toBe(272);
    expect(SYSCALLS.aarch64.unshare).toBe(97);
  });
});

describe('host arch', () => {
  it('maps node arches and fails closed elsewhere', () => {
    expect(hostSeccompArch('x64')).toBe('x86_64');
    expect(hostSeccompArch('arm64')).toBe('aarch64');
    expect(hostSeccompArch('riscv64')).toBeNull();
    expect(() => compileSeccompFilter(null)).toThrow(/x86_64 and aarch64/);
  });
});
