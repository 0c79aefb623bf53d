// The session wire format and the bind splicing, as pure functions.
import { describe, expect, it } from 'vitest';
import { killLine, LineSplitter, parseRecord, requestLine } from '../../src/session/protocol.ts';
import { withBinds } from '../../src/session/sandbox-process.ts';

describe('control records', () => {
  it('parses every record kind', () => {
    expect(parseRecord('H 2')).toEqual({ kind: 'ready', pid: 2 });
    expect(parseRecord('S 7 31')).toEqual({ kind: 'started', id: 7, pgid: 31 });
    expect(parseRecord('C')).toEqual({ kind: 'saved' });
    expect(parseRecord('D 7 0')).toEqual({ kind: 'done', id: 7, status: 0 });
    expect(parseRecord('D 7 255')).toEqual({ kind: 'done', id: 7, status: 255 });
    expect(parseRecord('E bad-request')).toEqual({ kind: 'rejected', reason: 'bad-request' });
  });

  it('rejects anything else', () => {
    for (const line of [
      '',
      'D 7',
      'D 7 256',
      'D -1 0',
      'D 07 0',
      'D 7 0 ',
      ' D 7 0',
      'S 1',
      'X',
      'C ',
      'H',
      'D 1 0\r',
      'E Bad',
    ]) {
      expect(parseRecord(line), JSON.stringify(line)).toBeNull();
    }
  });

  it('formats requests and kill lines, refusing values that are not plain numbers', () => {
    expect(requestLine({ id: 3, stateIn: null, stateOut: 0, prevStatus: 0 })).toBe('R 3 - 0 0\n');
    expect(requestLine({ id: 4, stateIn: 0, stateOut: 1, prevStatus: 127 })).toBe('R 4 0 1 127\n');
    expect(() => requestLine({ id: 1.5, stateIn: null, stateOut: 0, prevStatus: 0 })).toThrow(
      RangeError,
    );
    expect(() => requestLine({ id: 1, stateIn: null, stateOut: 0, prevStatus: 256 })).toThrow(
      RangeError,
    );
    expect(killLine('TERM', 12)).toBe('TERM 12\n');
    // pgid 1 would be the namespace's init; 0 and -1 would mean "everything".
    for (const bad of [1, 0, -1, NaN]) expect(() => killLine('KILL', bad)).toThrow(RangeError);
  });

  it('splits lines across chunks and fails on an overlong line', () => {
    const sp = new LineSplitter(16);
    expect(sp.push('H 2\nS 1')).toEqual(['H 2']);
    expect(sp.push(' 5\nC\n')).toEqual(['S 1 5', 'C']);
    expect(() => sp.push('x'.repeat(17))).toThrow(RangeError);
  });
});

describe('withBinds', () => {
  const bind = { hostPath: '/h/dir', sandboxPath: '/run/x', readOnly: true };

  it('inserts binds before the first --remount-ro', () => {
    const v = [
      'setpriv',
      '--',
      'bwrap',
      '--tmpfs',
      '/tmp',
      '--remount-ro',
      '/',
      '--clearenv',
      '--',
      'bash',
      '-c',
      'x',
    ];
    expect(withBinds(v, ['bash', '-c', 'x'], [bind])).toEqual([
      'setpriv',
      '--',
      'bwrap',
      '--tmpfs',
      '/tmp',
      '--ro-bind',
      '/h/dir',
      '/run/x',
      '--remount-ro',
      '/',
      '--clearenv',
      '--',
      'bash',
      '-c',
      'x',
    ]);
  });

  it('inserts before the argv separator when nothing is remounted, and writable binds use --bind', () => {
    const v = ['bwrap', '--tmpfs', '/tmp', '--', 'true'];
    expect(withBinds(v, ['true'], [{ ...bind, readOnly: false }])).toEqual([
      'bwrap',
      '--tmpfs',
      '/tmp',
      '--bind',
      '/h/dir',
      '/run/x',
      '--',
      'true',
    ]);
  });

  it('refuses a vector that does not end in -- argv, and relative or NUL paths', () => {
    expect(() => withBinds(['bwrap', 'true'], ['true'], [bind])).toThrow(
      expect.objectContaining({ code: 'START_FAILED' }) as Error,
    );
    expect(() => withBinds(['bwrap', '--', 'false'], ['true'], [bind])).toThrow(
      expect.objectContaining({ code: 'START_FAILED' }) as Error,
    );
    expect(() =>
      withBinds(['bwrap', '--', 'true'], ['true'], [{ ...bind, sandboxPath: 'run' }]),
    ).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }) as Error);
  });
});
