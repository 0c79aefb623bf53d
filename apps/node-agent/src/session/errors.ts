// The session layer's one error class. Codes are a closed union; callers switch on `code`, never on
// the message (which says how to fix the problem).

export type SessionErrorCode =
  /** Bad argument (command with NUL, non-positive timeout, resize to 0 columns…). */
  | 'INVALID_REQUEST'
  /** The sandboxed shell did not come up (bwrap failed, cgroup join failed, startup timeout). */
  | 'START_FAILED'
  /** The session was closed (explicitly, by its idle timeout, or because its shell died). */
  | 'SESSION_CLOSED'
  /** The shell sent a control record that does not fit the protocol; the session is closed. */
  | 'PROTOCOL_ERROR'
  /** A method of the other mode: run() on a PTY session, write()/resize() on a shell session. */
  | 'WRONG_MODE';

export class SessionError extends Error {
  readonly code: SessionErrorCode;

  constructor(code: SessionErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SessionError';
    this.code = code;
  }
}
