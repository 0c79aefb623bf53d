// The input of a terminal session travels gateway → node through a Redis stream (one per
// session, `redisKeys.sessionInput`): any gateway can append, the node holding the session reads
// it in order, and input sent while the node is still opening the terminal waits in the stream.
// Keystrokes and resizes share the stream so a resize lands between the bytes typed before and
// after it.

import type { PtySize } from './session.ts';

/** Unread entries beyond which sessions.input answers RESOURCE_EXHAUSTED (≤ 16 MiB of input). */
export const MAX_TERMINAL_INPUT_BACKLOG = 256;

export type TerminalInput =
  { readonly kind: 'data'; readonly data: Buffer } | ({ readonly kind: 'resize' } & PtySize);

/** Field/value pairs of a stream entry (binary-safe: data stays bytes). */
export function encodeTerminalInput(input: TerminalInput): (string | Buffer)[] {
  switch (input.kind) {
    case 'data':
      return ['t', 'd', 'b', input.data];
    case 'resize':
      return ['t', 'r', 'c', String(input.cols), 'r', String(input.rows)];
  }
}

/** The entry back from XREAD's flat field list; null for an entry this version does not know. */
export function decodeTerminalInput(fields: readonly Buffer[]): TerminalInput | null {
  const f = new Map<string, Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(String(fields[i]), fields[i + 1] as Buffer);
  const t = f.get('t')?.toString();
  if (t === 'd') {
    const data = f.get('b');
    return data ? { kind: 'data', data } : null;
  }
  if (t === 'r') {
    const cols = Number(f.get('c')?.toString());
    const rows = Number(f.get('r')?.toString());
    return Number.isInteger(cols) && Number.isInteger(rows) ? { kind: 'resize', cols, rows } : null;
  }
  return null;
}

/**
 * Appends one input entry unless the backlog is full. KEYS: input stream. ARGV: max entries,
 * ttlMs, then the entry's field/value pairs. Returns 1 when appended, 0 when the backlog is full.
 */
export const APPEND_TERMINAL_INPUT_LUA = `
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;
