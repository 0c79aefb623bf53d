// Syscall numbers of the two architectures we generate filters for. Taken from the kernel's
// arch/x86/entry/syscalls/syscall_64.tbl and include/uapi/asm-generic/unistd.h (aarch64).

export type SeccompArch = 'x86_64' | 'aarch64';

/** AUDIT_ARCH_* values the kernel puts in seccomp_data.arch. */
export const AUDIT_ARCH: Readonly<Record<SeccompArch, number>> = Object.freeze({
  x86_64: 0xc000003e,
  aarch64: 0xc00000b7,
});

export type SyscallName =
  | 'ptrace'
  | 'mount'
  | 'umount2'
  | 'pivot_root'
  | 'kexec_load'
  | 'kexec_file_load'
  | 'bpf'
  | 'perf_event_open'
  | 'keyctl'
  | 'add_key'
  | 'request_key'
  | 'userfaultfd'
  | 'open_by_handle_at'
  | 'init_module'
  | 'finit_module'
  | 'delete_module'
  | 'reboot'
  | 'swapon'
  | 'swapoff'
  | 'setns'
  | 'unshare'
  | 'clone'
  | 'clone3'
  | 'io_uring_setup'
  | 'io_uring_enter'
  | 'io_uring_register'
  | 'open_tree'
  | 'move_mount'
  | 'fsopen'
  | 'fsconfig'
  | 'fsmount'
  | 'fspick'
  | 'mount_setattr';

export const SYSCALLS: Readonly<Record<SeccompArch, Readonly<Record<SyscallName, number>>>> =
  Object.freeze({
    x86_64: {
      ptrace: 101,
      mount: 165,
      umount2: 166,
      pivot_root: 155,
      kexec_load: 246,
      kexec_file_load: 320,
      bpf: 321,
      perf_event_open: 298,
      keyctl: 250,
      add_key: 248,
      request_key: 249,
      userfaultfd: 323,
      open_by_handle_at: 304,
      init_module: 175,
      finit_module: 313,
      delete_module: 176,
      reboot: 169,
      swapon: 167,
      swapoff: 168,
      setns: 308,
      unshare: 272,
      clone: 56,
      clone3: 435,
      io_uring_setup: 425,
      io_uring_enter: 426,
      io_uring_register: 427,
      open_tree: 428,
      move_mount: 429,
      fsopen: 430,
      fsconfig: 431,
      fsmount: 432,
      fspick: 433,
      mount_setattr: 442,
    },
    aarch64: {
      ptrace: 117,
      mount: 40,
      umount2: 39,
      pivot_root: 41,
      kexec_load: 104,
      kexec_file_load: 294,
      bpf: 280,
      perf_event_open: 241,
      keyctl: 219,
      add_key: 217,
      request_key: 218,
      userfaultfd: 282,
      open_by_handle_at: 265,
      init_module: 105,
      finit_module: 273,
      delete_module: 106,
      reboot: 142,
      swapon: 224,
      swapoff: 225,
      setns: 268,
      unshare: 97,
      clone: 220,
      clone3: 435,
      io_uring_setup: 425,
      io_uring_enter: 426,
      io_uring_register: 427,
      open_tree: 428,
      move_mount: 429,
      fsopen: 430,
      fsconfig: 431,
      fsmount: 432,
      fspick: 433,
      mount_setattr: 442,
    },
  });

/** Denied outright with EPERM in strict mode. */
export const DENIED_SYSCALLS: readonly SyscallName[] = Object.freeze([
  'ptrace',
  'mount',
  'umount2',
  'pivot_root',
  'kexec_load',
  'kexec_file_load',
  'bpf',
  'perf_event_open',
  'keyctl',
  'add_key',
  'request_key',
  'userfaultfd',
  'open_by_handle_at',
  'init_module',
  'finit_module',
  'delete_module',
  'reboot',
  'swapon',
  'swapoff',
  'setns',
  'unshare',
  'io_uring_setup',
  'io_uring_enter',
  'io_uring_register',
  // The new mount API reaches the same places as mount(2).
  'open_tree',
  'move_mount',
  'fsopen',
  'fsconfig',
  'fsmount',
  'fspick',
  'mount_setattr',
]);

export const CLONE_NEWUSER = 0x10000000;
/** x86_64 syscalls with this bit set use the x32 ABI: a second syscall table, denied wholesale. */
export const X32_SYSCALL_BIT = 0x40000000;
export const EPERM = 1;
export const ENOSYS = 38;

export function hostSeccompArch(arch: string = process.arch): SeccompArch | null {
  switch (arch) {
    case 'x64':
      return 'x86_64';
    case 'arm64':
      return 'aarch64';
    default:
      return null;
  }
}
