import { describe, expect, it } from 'vitest';
import { CommitError } from '../../src/commit/errors.ts';
import {
  codebaseState,
  parseJournal,
  reservedNamesValid,
  type JournalOp,
} from '../../src/commit/journal.ts';

const ID = '0123456789abcdef';

function journal(ops: unknown[], extra: object = {}): string {
  return JSON.stringify({
    version: 1,
    id: ID,
    state: 'committed',
    codebaseDir: '/srv/code',
    deltaDir: '/srv/deltas/s1',
    ops,
    ...extra,
  });
}

function corrupt(text: string): string | undefined {
  try {
    parseJournal(text);
    return undefined;
  } catch (err) {
    return err instanceof CommitError ? err.code : 'other';
  }
}

describe('journal', () => {
  it('round-trips a valid journal', () => {
    const ops: JournalOp[] = [
      { kind: 'replace', target: '/a b/ü.txt', staged: `/a b/.cordon-stage.${ID}.0`, trash: null },
      {
        kind: 'replace',
        target: '/d',
        staged: `/.cordon-stage.${ID}.1`,
        trash: `/.cordon-trash.${ID}.2`,
      },
      { kind: 'delete', target: '/old', trash: `/.cordon-trash.${ID}.3` },
      { kind: 'chmod', target: '/src', mode: 0o700 },
    ];
    expect(parseJournal(journal(ops)).ops).toEqual(ops);
  });

  it.each([
    ['not JSON', '{'],
    ['wrong version', journal([], { version: 2 })],
    ['unknown state', journal([], { state: 'half' })],
    ['relative codebase', journal([], { codebaseDir: 'code' })],
    ['bad id', journal([], { id: '../x' })],
    [
      '.. in a target',
      journal([{ kind: 'delete', target: '/../etc', trash: `/.cordon-trash.${ID}.0` }]),
    ],
    [
      'target without leading slash',
      journal([{ kind: 'delete', target: 'etc', trash: `/.cordon-trash.${ID}.0` }]),
    ],
    ['trash not reserved', journal([{ kind: 'delete', target: '/a', trash: '/b' }])],
    [
      'trash of another commit',
      journal([{ kind: 'delete', target: '/a', trash: '/.cordon-trash.ffffffffffffffff.0' }]),
    ],
    [
      'trash in another dir',
      journal([{ kind: 'delete', target: '/x/a', trash: `/.cordon-trash.${ID}.0` }]),
    ],
    [
      'staged not a sibling',
      journal([{ kind: 'replace', target: '/a', staged: `/x/.cordon-stage.${ID}.0`, trash: null }]),
    ],
    [
      'deleting the root',
      journal([{ kind: 'delete', target: '/', trash: `/.cordon-trash.${ID}.0` }]),
    ],
    ['mode out of range', journal([{ kind: 'chmod', target: '/a', mode: 0o10000 }])],
    ['unknown op', journal([{ kind: 'exec', target: '/a' }])],
  ])('rejects %s as JOURNAL_CORRUPT', (_, text) => {
    expect(corrupt(text)).toBe('JOURNAL_CORRUPT');
  });

  it('checks reserved names per op kind', () => {
    expect(reservedNamesValid({ kind: 'chmod', target: '/a', mode: 0o755 }, ID)).toBe(true);
    expect(
      reservedNamesValid(
        { kind: 'replace', target: '/a', staged: `/.cordon-trash.${ID}.0`, trash: null },
        ID,
      ),
    ).toBe(false);
  });

  it('keeps one state directory per codebase', () => {
    const a = codebaseState('/var/lib/cordon', '/srv/a');
    const b = codebaseState('/var/lib/cordon', '/srv/b');
    expect(a.dir).not.toBe(b.dir);
    expect(a).toEqual(codebaseState('/var/lib/cordon', '/srv/a'));
    expect(a.lock.startsWith(`${a.dir}/`) && a.journal.startsWith(`${a.dir}/`)).toBe(true);
  });
});
