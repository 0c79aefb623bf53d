// Property: for random source trees and random deltas (files, symlinks, directories, whiteouts,
// opaque directories, at any depth, including type changes both ways), the committed codebase
// equals the overlay view a sandbox saw — computed here by an independent model of the layout's
// semantics — and the result's added/deleted lists are exactly the path differences.
import fs from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { commitDelta } from '../../src/commit/index.ts';
import { makeTempDir } from './support.ts';

type Node =
  | { readonly t: 'f'; readonly c: string }
  | { readonly t: 'l'; readonly to: string }
  | { readonly t: 'd'; readonly kids: Readonly<Record<string, Node>> };

type UpperNode =
  { readonly t: 'f'; readonly c: string } | { readonly t: 'l'; readonly to: string } | UpperDir;

interface UpperDir {
  readonly t: 'd';
  readonly kids: Readonly<Record<string, UpperNode>>;
  readonly wh: readonly string[];
  readonly opaque: boolean;
}

const NAMES = ['a', 'c d', 'é'] as const;
const name = fc.constantFrom(...NAMES);
const file = fc.record({
  t: fc.constant('f' as const),
  c: fc.constantFrom('', 'x', 'yy\n', 'zzz'),
});
const link = fc.record({
  t: fc.constant('l' as const),
  to: fc.constantFrom('a', '../b', '/etc/passwd', 'nope'),
});

const sourceTree = fc.letrec<{ node: Node; dir: Node }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', maxDepth: 3 }, file, link, tie('dir')),
  dir: fc.record({
    t: fc.constant('d' as const),
    kids: fc.dictionary(name, tie('node'), { maxKeys: 4 }),
  }),
})).dir as fc.Arbitrary<{ t: 'd'; kids: Record<string, Node> }>;

const upperTree = fc.letrec<{ node: UpperNode; dir: UpperDir }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', maxDepth: 3 }, file, link, tie('dir')),
  dir: fc.record({
    t: fc.constant('d' as const),
    kids: fc.dictionary(name, tie('node'), { maxKeys: 3 }),
    wh: fc.uniqueArray(name, { maxLength: 2 }),
    opaque: fc.boolean(),
  }),
})).dir;

/** The overlay semantics of layout.ts, written independently of the committer. */
function overlay(
  src: Readonly<Record<string, Node>> | undefined,
  up: UpperDir,
): Record<string, Node> {
  const out: Record<string, Node> = {};
  if (src !== undefined && !up.opaque) {
    for (const [n, node] of Object.entries(src)) if (!up.wh.includes(n)) out[n] = node;
  }
  for (const [n, u] of Object.entries(up.kids)) {
    const below = out[n];
    if (u.t === 'd' && below?.t === 'd' && !u.opaque)
      out[n] = { t: 'd', kids: overlay(below.kids, u) };
    else out[n] = strip(u);
  }
  return out;
}

function strip(u: UpperNode): Node {
  if (u.t !== 'd') return u;
  return {
    t: 'd',
    kids: Object.fromEntries(Object.entries(u.kids).map(([n, k]) => [n, strip(k)])),
  };
}

function flatten(
  kids: Readonly<Record<string, Node>>,
  prefix = '',
  out = new Map<string, string>(),
): Map<string, string> {
  for (const [n, node] of Object.entries(kids)) {
    const p = `${prefix}/${n}`;
    out.set(p, node.t === 'f' ? `f:${node.c}` : node.t === 'l' ? `l:${node.to}` : 'd');
    if (node.t === 'd') flatten(node.kids, p, out);
  }
  return out;
}

async function writeSource(dir: string, kids: Readonly<Record<string, Node>>): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const [n, node] of Object.entries(kids)) {
    const p = path.join(dir, n);
    if (node.t === 'f') await fs.writeFile(p, node.c);
    else if (node.t === 'l') await fs.symlink(node.to, p);
    else await writeSource(p, node.kids);
  }
}

async function writeUpper(dir: string, up: UpperDir): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  if (up.opaque) await fs.writeFile(path.join(dir, '.cordon-opaque'), '');
  for (const n of up.wh) await fs.writeFile(path.join(dir, `.cordon-wh.${n}`), '');
  for (const [n, node] of Object.entries(up.kids)) {
    const p = path.join(dir, n);
    if (node.t === 'f') await fs.writeFile(p, node.c);
    else if (node.t === 'l') await fs.symlink(node.to, p);
    else await writeUpper(p, node);
  }
}

async function readTree(
  dir: string,
  prefix = '',
  out = new Map<string, string>(),
): Promise<Map<string, string>> {
  for (const n of await fs.readdir(dir)) {
    const p = path.join(dir, n);
    const rel = `${prefix}/${n}`;
    const st = await fs.lstat(p);
    if (st.isDirectory()) {
      out.set(rel, 'd');
      await readTree(p, rel, out);
    } else if (st.isSymbolicLink()) out.set(rel, `l:${await fs.readlink(p)}`);
    else out.set(rel, `f:${await fs.readFile(p, 'utf8')}`);
  }
  return out;
}

const sorted = (m: Map<string, string>): [string, string][] =>
  [...m].sort(([a], [b]) => (a < b ? -1 : 1));

let base: string;
let run = 0;

afterAll(async () => {
  if (base !== undefined) await fs.rm(base, { recursive: true, force: true });
});

describe('commit against an overlay model', () => {
  it('the codebase after commit equals the sandbox view', async () => {
    base = await makeTempDir('model');
    await fc.assert(
      fc.asyncProperty(sourceTree, upperTree, async (source, upper) => {
        const dir = path.join(base, String(run++));
        const codebase = path.join(dir, 'codebase');
        const delta = path.join(dir, 'delta');
        await writeSource(codebase, source.kids);
        await writeUpper(path.join(delta, 'upper'), upper);
        try {
          const before = flatten(source.kids);
          const expected = flatten(overlay(source.kids, upper));
          const result = await commitDelta({
            codebaseDir: codebase,
            deltaDir: delta,
            stateDir: path.join(dir, 's'),
          });
          expect(sorted(await readTree(codebase))).toEqual(sorted(expected));
          expect(result.added).toEqual([...expected.keys()].filter((p) => !before.has(p)).sort());
          expect(result.deleted).toEqual([...before.keys()].filter((p) => !expected.has(p)).sort());
          const changed = [...expected.keys()].filter(
            (p) => before.has(p) && before.get(p) !== expected.get(p),
          );
          expect(result.modified).toEqual(expect.arrayContaining(changed));
          for (const p of result.modified) expect(before.has(p) && expected.has(p)).toBe(true);
        } finally {
          await fs.rm(dir, { recursive: true, force: true });
        }
      }),
      {
        numRuns: 200,
        examples: [
          // Deleted and re-created without an opaque marker: a replacement, not a merge.
          [
            { t: 'd', kids: { é: { t: 'd', kids: { a: { t: 'f', c: 'x' } } } } },
            {
              t: 'd',
              kids: { é: { t: 'd', kids: {}, wh: [], opaque: false } },
              wh: ['é'],
              opaque: false,
            },
          ],
          // An opaque root: everything the upper root does not hold goes.
          [
            {
              t: 'd',
              kids: { a: { t: 'd', kids: { a: { t: 'f', c: '' } } }, é: { t: 'f', c: 'x' } },
            },
            {
              t: 'd',
              kids: { a: { t: 'd', kids: {}, wh: [], opaque: false } },
              wh: [],
              opaque: true,
            },
          ],
          // A directory over a symlink to a directory, and over a file.
          [
            {
              t: 'd',
              kids: { a: { t: 'l', to: 'é' }, é: { t: 'd', kids: {} }, 'c d': { t: 'f', c: 'x' } },
            },
            {
              t: 'd',
              kids: {
                a: { t: 'd', kids: { a: { t: 'f', c: 'yy\n' } }, wh: [], opaque: false },
                'c d': { t: 'd', kids: {}, wh: ['a'], opaque: false },
              },
              wh: [],
              opaque: false,
            },
          ],
        ],
      },
    );
  });
});
