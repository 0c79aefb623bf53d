import { describe, expect, it } from 'vitest';
import {
  decodeTerminalInput,
  encodeTerminalInput,
  SessionCreateInputSchema,
  SessionInputSchema,
  SessionResizeInputSchema,
  MAX_PTY_INPUT_BYTES,
} from '../src/index.ts';

/** XREAD hands fields back as Buffers. */
const asRead = (fields: (string | Buffer)[]) => fields.map((f) => Buffer.from(f));

describe('terminal input entries', () => {
  it('round-trips bytes exactly, including non-UTF-8 and control bytes', () => {
    const data = Buffer.from([0x03, 0xff, 0x00, 0x1b, 0x5b, 0x41]);
    expect(decodeTerminalInput(asRead(encodeTerminalInput({ kind: 'data', data })))).toEqual({
      kind: 'data',
      data,
    });
  });

  it('round-trips resizes', () => {
    const r = { kind: 'resize', cols: 132, rows: 50 } as const;
    expect(decodeTerminalInput(asRead(encodeTerminalInput(r)))).toEqual(r);
  });

  it('ignores entries it does not know instead of guessing', () => {
    expect(decodeTerminalInput(asRead(['t', 'x', 'b', 'y']))).toBeNull();
    expect(decodeTerminalInput(asRead(['t', 'r', 'c', 'wide', 'r', '5']))).toBeNull();
    expect(decodeTerminalInput(asRead(['t', 'd']))).toBeNull();
  });
});

describe('terminal session schemas', () => {
  it('defaults to a command shell; pty asks for a terminal with xterm-256color', () => {
    expect(SessionCreateInputSchema.parse({ sandboxId: 'sb_1' }).pty).toBeNull();
    expect(
      SessionCreateInputSchema.parse({ sandboxId: 'sb_1', pty: { cols: 80, rows: 24 } }).pty,
    ).toEqual({ cols: 80, rows: 24, term: 'xterm-256color' });
  });

  it.each([
    [{ cols: 0, rows: 24 }, 'cols'],
    [{ cols: 80, rows: 10_001 }, 'rows'],
    [{ cols: 80.5, rows: 24 }, 'cols'],
    [{ cols: 80, rows: 24, term: 'x; rm -rf /' }, 'term'],
  ])('refuses pty %j naming %s', (pty, field) => {
    const r = SessionCreateInputSchema.safeParse({ sandboxId: 'sb_1', pty });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['pty', field]);
  });

  it('bounds one input by its bytes, in either encoding', () => {
    const big = 'x'.repeat(MAX_PTY_INPUT_BYTES + 1);
    expect(SessionInputSchema.safeParse({ sessionId: 'ss_1', data: big }).success).toBe(false);
    const b64 = Buffer.alloc(MAX_PTY_INPUT_BYTES).toString('base64');
    expect(
      SessionInputSchema.safeParse({ sessionId: 'ss_1', data: b64, encoding: 'base64' }).success,
    ).toBe(true);
    expect(SessionInputSchema.safeParse({ sessionId: 'ss_1', data: '' }).success).toBe(false);
  });

  it('resizes within the same bounds as creation', () => {
    expect(
      SessionResizeInputSchema.safeParse({ sessionId: 'ss_1', cols: 1, rows: 1 }).success,
    ).toBe(true);
    expect(
      SessionResizeInputSchema.safeParse({ sessionId: 'ss_1', cols: 1, rows: 0 }).success,
    ).toBe(false);
  });
});
