import { describe, expect, it } from 'vitest';
import { conflictCandidates } from '../../src/commit/conflicts.ts';
import type { JournalOp } from '../../src/commit/journal.ts';

const ops: JournalOp[] = [
  { kind: 'replace', target: '/src/a.ts', staged: '/src/.cordon-stage.x.0', trash: null },
  { kind: 'replace', target: '/gen', staged: '/.cordon-stage.x.1', trash: '/.cordon-trash.x.2' },
  { kind: 'delete', target: '/old', trash: '/.cordon-trash.x.3' },
  { kind: 'chmod', target: '/src', mode: 0o700 },
];

describe('conflictCandidates', () => {
  it('picks seen paths that an op overwrites or deletes, including below replaced directories', () => {
    const seen = [
      '/src/a.ts',
      '/src/b.ts',
      '/src',
      '/gen',
      '/gen/x/y.js',
      '/old/z',
      '/older',
      '/',
      'bad/path',
    ];
    expect(conflictCandidates(seen, ops)).toEqual(['/src/a.ts', '/gen', '/gen/x/y.js', '/old/z']);
  });

  it('ignores everything when nothing is written', () => {
    expect(conflictCandidates(['/a', '/b'], [])).toEqual([]);
  });
});
