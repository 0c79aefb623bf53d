// The session shell's wire format (see session-shell.sh and docs/sessions.md), as pure functions.
// Records come only from our own shell code on a dedicated fd that user commands do not have; they
// are still parsed strictly and anything unexpected fails the session closed.

export type ControlRecord =
  /** The shell is up; `pid` is its pid inside the sandbox. */
  | { readonly kind: 'ready'; readonly pid: number }
  /** Command `id` runs in process group `pgid` (inside the sandbox's pid namespace). */
  | { readonly kind: 'started'; readonly id: number; readonly pgid: number }
  /** The running command's state snapshot was written completely. */
  | { readonly kind: 'saved' }
  /** Command `id` and its subshell are gone; `status` as a shell reports it (128+N: signal N). */
  | { readonly kind: 'done'; readonly id: number; readonly status: number }
  /** The shell rejected a request line. */
  | { readonly kind: 'rejected'; readonly reason: string };

const INT = '(0|[1-9][0-9]{0,9})';
const READY = new RegExp(`^H ${INT}$`);
const STARTED = new RegExp(`^S ${INT} ${INT}$`);
const DONE = new RegExp(`^D ${INT} ${INT}$`);
const REJECTED = /^E ([a-z-]{1,64})$/;

/** Parses one record line (without the newline); null when it is not a valid record. */
export function parseRecord(line: string): ControlRecord | null {
  let m: RegExpExecArray | null;
  if (line === 'C') return { kind: 'saved' };
  if ((m = READY.exec(line))) return { kind: 'ready', pid: Number(m[1]) };
  if ((m = STARTED.exec(line))) return { kind: 'started', id: Number(m[1]), pgid: Number(m[2]) };
  if ((m = DONE.exec(line))) {
    const status = Number(m[2]);
    return status <= 255 ? { kind: 'done', id: Number(m[1]), status } : null;
  }
  if ((m = REJECTED.exec(line))) return { kind: 'rejected', reason: m[1] as string };
  return null;
}

export type SnapshotSlot = 0 | 1;

export interface RunRequest {
  readonly id: number;
  /** Snapshot to restore, or null before the first one was saved. */
  readonly stateIn: SnapshotSlot | null;
  readonly stateOut: SnapshotSlot;
  /** `$?` the command starts with (the previous command's status). */
  readonly prevStatus: number;
}

export function requestLine(r: RunRequest): string {
  if (
    !Number.isSafeInteger(r.id) ||
    r.id < 0 ||
    !Number.isInteger(r.prevStatus) ||
    r.prevStatus < 0 ||
    r.prevStatus > 255
  ) {
    throw new RangeError(`invalid run request ${JSON.stringify(r)}`);
  }
  return `R ${r.id} ${r.stateIn ?? '-'} ${r.stateOut} ${r.prevStatus}\n`;
}

export function killLine(signal: 'TERM' | 'KILL', pgid: number): string {
  if (!Number.isSafeInteger(pgid) || pgid <= 1)
    throw new RangeError(`invalid process group ${pgid}`);
  return `${signal} ${pgid}\n`;
}

/** Splits a byte stream into lines; a line longer than `maxLineBytes` is a protocol violation. */
export class LineSplitter {
  #buf = '';
  readonly #max: number;

  constructor(maxLineBytes = 256) {
    this.#max = maxLineBytes;
  }

  /** Returns the complete lines in `chunk` (records are ASCII); throws RangeError on an overlong line. */
  push(chunk: Buffer | string): string[] {
    this.#buf += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    const lines = this.#buf.split('\n');
    this.#buf = lines.pop() ?? '';
    if (this.#buf.length > this.#max || lines.some((l) => l.length > this.#max)) {
      throw new RangeError(`control line longer than ${this.#max} bytes`);
    }
    return lines;
  }
}
