// Strict mode's seccomp filter, generated here as classic BPF (struct sock_filter[]), which bwrap
// loads with `--seccomp FD`. Layout:
//   1. arch check — any other ABI (i386 via int 0x80, a foreign arch) kills the process, because
//      its syscall numbers mean different syscalls and would slip past the list;
//   2. on x86_64, x32-ABI numbers → EPERM;
//   3. the denied syscalls → EPERM;
//   4. clone3 → ENOSYS: its flags live in a struct BPF cannot read; libc then falls back to clone;
//   5. clone with CLONE_NEWUSER in its flags → EPERM;
//   6. everything else allowed.
import { RunnerError } from '../runner/errors.ts';
import {
  AUDIT_ARCH,
  CLONE_NEWUSER,
  DENIED_SYSCALLS,
  ENOSYS,
  EPERM,
  hostSeccompArch,
  SYSCALLS,
  X32_SYSCALL_BIT,
  type SeccompArch,
} from './syscalls.ts';

export interface BpfInsn {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

export const BPF = Object.freeze({
  LD_W_ABS: 0x20, // BPF_LD | BPF_W | BPF_ABS
  JEQ_K: 0x15, // BPF_JMP | BPF_JEQ | BPF_K
  JSET_K: 0x45, // BPF_JMP | BPF_JSET | BPF_K
  RET_K: 0x06, // BPF_RET | BPF_K
});

export const SECCOMP_RET = Object.freeze({
  KILL_PROCESS: 0x80000000,
  ERRNO: 0x00050000,
  ALLOW: 0x7fff0000,
});

/** Offsets into struct seccomp_data (little-endian on both supported arches). */
export const SECCOMP_DATA = Object.freeze({ nr: 0, arch: 4, argLow: (i: number) => 16 + 8 * i });

type Label = 'allow' | 'eperm' | 'enosys' | 'kill';
type Target = number | Label;
interface PendingInsn {
  readonly code: number;
  readonly k: number;
  readonly jt: Target;
  readonly jf: Target;
}

const NEXT = 0;

/** The filter as instructions (for tests and the interpreter). */
export function seccompInstructions(arch: SeccompArch): BpfInsn[] {
  const nrs = SYSCALLS[arch];
  const body: PendingInsn[] = [];
  const ld = (off: number): void =>
    void body.push({ code: BPF.LD_W_ABS, k: off, jt: NEXT, jf: NEXT });
  const jump = (code: number, k: number, jt: Target, jf: Target): void =>
    void body.push({ code, k, jt, jf });

  ld(SECCOMP_DATA.arch);
  jump(BPF.JEQ_K, AUDIT_ARCH[arch], NEXT, 'kill');
  ld(SECCOMP_DATA.nr);
  if (arch === 'x86_64') jump(BPF.JSET_K, X32_SYSCALL_BIT, 'eperm', NEXT);
  for (const name of DENIED_SYSCALLS) jump(BPF.JEQ_K, nrs[name], 'eperm', NEXT);
  jump(BPF.JEQ_K, nrs.clone3, 'enosys', NEXT);
  jump(BPF.JEQ_K, nrs.clone, NEXT, 'allow');
  // clone(flags, …): flags is the first argument on both arches; CLONE_NEWUSER is in its low word.
  ld(SECCOMP_DATA.argLow(0));
  jump(BPF.JSET_K, CLONE_NEWUSER, 'eperm', 'allow');

  const tail: Record<Label, number> = {
    allow: body.length,
    eperm: body.length + 1,
    enosys: body.length + 2,
    kill: body.length + 3,
  };
  const resolve = (t: Target, at: number): number => {
    if (typeof t === 'number') return t;
    const off = tail[t] - (at + 1);
    if (off < 0 || off > 255)
      throw new RunnerError('SECCOMP_UNSUPPORTED_ARCH', `seccomp jump out of range (${off})`);
    return off;
  };
  const out: BpfInsn[] = body.map((insn, i) => ({
    code: insn.code,
    k: insn.k,
    jt: resolve(insn.jt, i),
    jf: resolve(insn.jf, i),
  }));
  out.push(
    { code: BPF.RET_K, jt: 0, jf: 0, k: SECCOMP_RET.ALLOW },
    { code: BPF.RET_K, jt: 0, jf: 0, k: SECCOMP_RET.ERRNO | EPERM },
    { code: BPF.RET_K, jt: 0, jf: 0, k: SECCOMP_RET.ERRNO | ENOSYS },
    { code: BPF.RET_K, jt: 0, jf: 0, k: SECCOMP_RET.KILL_PROCESS },
  );
  return out;
}

/** struct sock_filter[] bytes in little-endian: u16 code, u8 jt, u8 jf, u32 k. */
export function encodeBpf(insns: readonly BpfInsn[]): Uint8Array {
  const buf = new Uint8Array(insns.length * 8);
  const view = new DataView(buf.buffer);
  insns.forEach((insn, i) => {
    view.setUint16(i * 8, insn.code, true);
    view.setUint8(i * 8 + 2, insn.jt);
    view.setUint8(i * 8 + 3, insn.jf);
    view.setUint32(i * 8 + 4, insn.k >>> 0, true);
  });
  return buf;
}

export function decodeBpf(bytes: Uint8Array): BpfInsn[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: BpfInsn[] = [];
  for (let off = 0; off + 8 <= bytes.byteLength; off += 8) {
    out.push({
      code: view.getUint16(off, true),
      jt: view.getUint8(off + 2),
      jf: view.getUint8(off + 3),
      k: view.getUint32(off + 4, true),
    });
  }
  return out;
}

/** The compiled program for `arch` (default: this host's). Fails closed on an unsupported arch. */
export function compileSeccompFilter(arch: SeccompArch | null = hostSeccompArch()): Uint8Array {
  if (arch === null) {
    throw new RunnerError(
      'SECCOMP_UNSUPPORTED_ARCH',
      `strict mode supports x86_64 and aarch64 only; this host is ${process.arch}. Run without strict or on a supported host.`,
    );
  }
  return encodeBpf(seccompInstructions(arch));
}
