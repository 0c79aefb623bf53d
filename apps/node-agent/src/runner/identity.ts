// The sandbox's /etc/passwd and /etc/group, synthesised per sandbox: the host's user list stays
// hidden, and the sandbox uid has a name and home (tools such as git, ssh and Python's getpass
// fail on a uid without a passwd entry).
import type { SandboxSpec } from './spec.ts';

export const SANDBOX_USER = 'sandbox';
export const SANDBOX_HOME = '/tmp';
const OVERFLOW_ID = 65534;

export function passwdFile(spec: Pick<SandboxSpec, 'uid' | 'gid'>): string {
  return [
    'root:x:0:0:root:/root:/usr/sbin/nologin',
    `${SANDBOX_USER}:x:${spec.uid}:${spec.gid}:Cordon sandbox:${SANDBOX_HOME}:/bin/bash`,
    // Ids not mapped into the user namespace (files of other host users) show as the overflow id.
    ...(spec.uid === OVERFLOW_ID
      ? []
      : ['nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin']),
    '',
  ].join('\n');
}

export function groupFile(spec: Pick<SandboxSpec, 'gid'>): string {
  return [
    'root:x:0:',
    `${SANDBOX_USER}:x:${spec.gid}:`,
    ...(spec.gid === OVERFLOW_ID ? [] : ['nogroup:x:65534:']),
    '',
  ].join('\n');
}
