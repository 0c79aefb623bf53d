// A tiny classic-BPF interpreter for seccomp programs, enough to execute what filter.ts emits
// (and to reject anything else), so the filter's decisions are tested without a kernel.
import { BPF, type BpfInsn } from '../../src/seccomp/filter.ts';

export interface SeccompData {
  readonly nr: number;
  readonly arch: number;
  readonly args?: readonly bigint[];
}

function load(data: SeccompData, off: number): number {
  if (off === 0) return data.nr >>> 0;
  if (off === 4) return data.arch >>> 0;
  if (off >= 16 && off < 64 && off % 4 === 0) {
    const i = Math.floor((off - 16) / 8);
    const v = data.args?.[i] ?? 0n;
    return Number(off % 8 === 0 ? v & 0xffffffffn : (v >> 32n) & 0xffffffffn);
  }
  throw new Error(`load at unsupported offset ${off}`);
}

/** Runs the program; returns the seccomp action value (e.g. 0x7fff0000 allow). */
export function runSeccomp(prog: readonly BpfInsn[], data: SeccompData): number {
  let a = 0;
  let pc = 0;
  for (let steps = 0; steps < 10_000; steps++) {
    const insn = prog[pc];
    if (!insn) throw new Error(`fell off the program at ${pc}`);
    switch (insn.code) {
      case BPF.LD_W_ABS:
        a = load(data, insn.k);
        pc++;
        break;
      case BPF.JEQ_K:
        pc += 1 + (a === insn.k >>> 0 ? insn.jt : insn.jf);
        break;
      case BPF.JSET_K:
        pc += 1 + ((a & insn.k) >>> 0 !== 0 ? insn.jt : insn.jf);
        break;
      case BPF.RET_K:
        return insn.k >>> 0;
      default:
        throw new Error(`unsupported opcode 0x${insn.code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('program did not terminate');
}
