// Sessions: a stateful shell per session inside the sandbox (pipe mode, delimited commands) or an
// interactive terminal (PTY mode). See docs/sessions.md.
import type { SandboxHandle } from './sandbox-process.ts';
import { PtySession, type PtySessionOptions, type PtySize } from './pty-session.ts';
import { ShellSession } from './shell-session.ts';
import type { SessionOptions } from './types.ts';

export type Session = ShellSession | PtySession;

/**
 * Opens a session in the sandbox: with `pty` an interactive terminal, otherwise a shell whose
 * commands are run one by one with their own stdout, stderr and exit status. Close it (or use
 * `await using`) — idle sessions close themselves after `idleTimeoutMs`.
 */
export function openSession(handle: SandboxHandle, opts: PtySessionOptions): Promise<PtySession>;
export function openSession(
  handle: SandboxHandle,
  opts?: SessionOptions & { readonly pty?: undefined },
): Promise<ShellSession>;
export function openSession(
  handle: SandboxHandle,
  opts: SessionOptions & { readonly pty?: PtySize } = {},
): Promise<Session> {
  if (opts.pty) return PtySession.open(handle, { ...opts, pty: opts.pty });
  return ShellSession.open(handle, opts);
}

export { ShellSession, PtySession };
export { SessionError, type SessionErrorCode } from './errors.ts';
export type {
  SessionOptions,
  SessionRunOptions,
  SessionRunResult,
  SessionCommand,
  SessionCommandResult,
} from './types.ts';
export type { PtyCloseCause, PtyExit, PtySessionOptions, PtySize } from './pty-session.ts';
export type { SandboxHandle } from './sandbox-process.ts';
