// The fd payloads (passwd, group, seccomp program) written as files, for spawners that cannot pass
// extra file descriptors (a PTY via node-pty). The wrapper opens them on the fixed fds.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { compileSeccompFilter } from '../seccomp/filter.ts';
import { SANDBOX_FDS, sandboxFdPayloads } from './bwrap-args.ts';
import type { SandboxSpec } from './spec.ts';

export interface PayloadFiles {
  readonly passwd: string;
  readonly group: string;
  readonly seccomp: string | null;
}

/** Writes the payloads into `dir` (mode 0600: the wrapper opens them while still root, before setpriv drops privileges). */
export async function writePayloadFiles(
  dir: string,
  spec: SandboxSpec,
  seccompProgram?: Uint8Array,
): Promise<PayloadFiles> {
  const payloads = sandboxFdPayloads(
    spec,
    spec.strict ? (seccompProgram ?? compileSeccompFilter()) : null,
  );
  const write = async (fd: number, name: string): Promise<string | null> => {
    const data = payloads.get(fd);
    if (!data) return null;
    const file = path.join(dir, name);
    await fsp.writeFile(file, data, { mode: 0o600 });
    return file;
  };
  const passwd = await write(SANDBOX_FDS.passwd, 'passwd');
  const group = await write(SANDBOX_FDS.group, 'group');
  const seccomp = await write(SANDBOX_FDS.seccomp, 'seccomp.bpf');
  return { passwd: passwd as string, group: group as string, seccomp };
}
