import type { Dirent } from 'node:fs';
import { readFile, readdir, lstat } from 'node:fs/promises';
import path from 'node:path';
import ignoreModule, { type Ignore } from 'ignore';

// CommonJS: the default import is module.exports, whose `default` is the factory.
const ignore = ignoreModule.default;

/** Left out of every upload and never touched by a pull. */
export const ALWAYS_IGNORED = ['.git/'];

export interface LocalEntry {
  /** Relative to the root, '/'-separated, no leading slash; directories without a trailing one. */
  readonly rel: string;
  readonly type: 'file' | 'directory' | 'symlink';
  readonly abs: string;
  readonly size: number;
  readonly mode: number;
  readonly mtime: Date;
}

interface Layer {
  /** Directory (relative to the root, '' for the root) the .gitignore sits in. */
  readonly base: string;
  readonly ig: Ignore;
}

/** Decides whether a path is ignored by the root's and nested .gitignore files plus `extra`. */
export class IgnoreRules {
  readonly #layers: Layer[];

  private constructor(layers: Layer[]) {
    this.#layers = layers;
  }

  static root(extra: readonly string[]): IgnoreRules {
    return new IgnoreRules([{ base: '', ig: ignore().add([...ALWAYS_IGNORED, ...extra]) }]);
  }

  /** Rules for the children of `dirRel`, adding its .gitignore when it has one. */
  async enter(root: string, dirRel: string): Promise<IgnoreRules> {
    let text: string;
    try {
      text = await readFile(path.join(root, dirRel, '.gitignore'), 'utf8');
    } catch {
      return this;
    }
    return new IgnoreRules([...this.#layers, { base: dirRel, ig: ignore().add(text) }]);
  }

  ignores(rel: string, isDir: boolean): boolean {
    for (const { base, ig } of this.#layers) {
      const sub =
        base === '' ? rel : rel.startsWith(base + '/') ? rel.slice(base.length + 1) : null;
      if (sub === null || sub === '') continue;
      if (ig.ignores(isDir ? `${sub}/` : sub)) return true;
    }
    return false;
  }
}

function typeOf(d: Dirent): LocalEntry['type'] | null {
  if (d.isDirectory()) return 'directory';
  if (d.isFile()) return 'file';
  if (d.isSymbolicLink()) return 'symlink';
  return null; // sockets, fifos, devices: not part of a codebase
}

/**
 * Every entry of `root` that .gitignore rules keep, parents before children, sorted by name so
 * uploads are reproducible. Symlinks are listed, never followed.
 */
export async function* walkLocal(
  root: string,
  extraIgnore: readonly string[] = [],
): AsyncGenerator<LocalEntry> {
  async function* visit(dirRel: string, rules: IgnoreRules): AsyncGenerator<LocalEntry> {
    const inner = await rules.enter(root, dirRel);
    const entries = await readdir(path.join(root, dirRel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of entries) {
      const type = typeOf(d);
      if (type === null) continue;
      const rel = dirRel === '' ? d.name : `${dirRel}/${d.name}`;
      if (inner.ignores(rel, type === 'directory')) continue;
      const abs = path.join(root, rel);
      const st = await lstat(abs);
      yield {
        rel,
        type,
        abs,
        size: type === 'file' ? st.size : 0,
        mode: st.mode & 0o7777,
        mtime: st.mtime,
      };
      if (type === 'directory') yield* visit(rel, inner);
    }
  }
  yield* visit('', IgnoreRules.root(extraIgnore));
}
