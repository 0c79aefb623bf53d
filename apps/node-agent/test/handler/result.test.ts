// Parsing the harness's result document (it comes from the sandbox: never trusted) and deciding
// the outcome of a run.
import { describe, expect, it } from 'vitest';
import { decideOutcome, parseOutcome, type ExitFacts } from '../../src/handler/result.ts';

const exited: ExitFacts = {
  timedOut: false,
  timeoutMs: 1000,
  oomKilled: false,
  exitCode: 0,
  signal: null,
  resultTooLarge: false,
  maxResultBytes: 100,
};

describe('parseOutcome', () => {
  it('accepts results and errors in the harness format', () => {
    expect(parseOutcome('{"ok":true,"result":{"a":[1,null]}}')).toEqual({
      ok: true,
      result: { a: [1, null] },
    });
    expect(parseOutcome('{"ok":true,"result":null}')).toEqual({ ok: true, result: null });
    expect(
      parseOutcome('{"ok":false,"error":{"type":"ValueError","message":"m","stack":"s"}}'),
    ).toEqual({
      ok: false,
      error: { type: 'ValueError', message: 'm', stack: 's' },
    });
  });

  it('reports an empty channel as no document', () => {
    expect(parseOutcome('')).toBeNull();
  });

  it('turns anything else into HarnessProtocolError', () => {
    for (const raw of [
      '{',
      '[]',
      '"x"',
      'null',
      '{"ok":true}',
      '{"ok":"yes","result":1}',
      '{"ok":false,"error":{"type":1,"message":"m"}}',
      '{"ok":false}',
    ]) {
      const o = parseOutcome(raw);
      expect(o?.ok, raw).toBe(false);
      if (o && !o.ok) expect(o.error.type, raw).toBe('HarnessProtocolError');
    }
  });
});

describe('decideOutcome', () => {
  it('uses the document when the run ended normally', () => {
    expect(decideOutcome('{"ok":true,"result":5}', exited)).toEqual({ ok: true, result: 5 });
  });

  it('limits take precedence over whatever was written', () => {
    const doc = '{"ok":true,"result":5}';
    expect(decideOutcome(doc, { ...exited, timedOut: true })).toMatchObject({
      ok: false,
      error: { type: 'Timeout' },
    });
    expect(decideOutcome(doc, { ...exited, oomKilled: true })).toMatchObject({
      ok: false,
      error: { type: 'OutOfMemory' },
    });
    expect(decideOutcome('', { ...exited, resultTooLarge: true })).toMatchObject({
      ok: false,
      error: { type: 'ResultTooLarge' },
    });
  });

  it('explains a runtime that exited without a document', () => {
    const o = decideOutcome('', { ...exited, exitCode: 3 });
    expect(o).toMatchObject({ ok: false, error: { type: 'RuntimeExited' } });
    if (!o.ok) expect(o.error.message).toMatch(/exit status 3/);
    const s = decideOutcome('', { ...exited, exitCode: null, signal: 'SIGSEGV' });
    if (!s.ok) expect(s.error.message).toMatch(/SIGSEGV/);
  });
});
