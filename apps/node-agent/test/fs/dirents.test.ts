import { describe, expect, it } from 'vitest';
import type { MergedEntry } from '../../src/fs/layers.ts';
import { packDirents, unpackDirents } from '../../src/fs/ops/dirents.ts';

describe('packDirents (readdir buffer for the patched addon)', () => {
  it('writes a d_type byte, the UTF-8 name and a NUL per entry', () => {
    const buf = packDirents([
      { name: '.', kind: 'dir' },
      { name: 'a.txt', kind: 'file' },
      { name: 'ln', kind: 'symlink' },
      { name: 'fifo', kind: 'other' },
    ]);
    expect([...buf]).toEqual([
      4,
      0x2e,
      0,
      8,
      ...Buffer.from('a.txt'),
      0,
      10,
      ...Buffer.from('ln'),
      0,
      0,
      ...Buffer.from('fifo'),
      0,
    ]);
  });

  it('round-trips names of any script and length', () => {
    const entries: MergedEntry[] = [
      { name: 'ü ✓ 日本', kind: 'file' },
      { name: 'x'.repeat(255), kind: 'dir' },
      { name: ' spaced name ', kind: 'symlink' },
    ];
    expect(unpackDirents(packDirents(entries))).toEqual(entries);
  });

  it('packs an empty listing as an empty buffer', () => {
    expect(packDirents([]).length).toBe(0);
  });
});
