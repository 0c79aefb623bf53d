// The node's codebases. Layout under `<dataDir>/codebases/<id>/`:
//   codebase.json   { id, kind: 'managed' | 'path', dir }   (written last: its presence = usable)
//   tree/           the files of a managed codebase (uploads, empty and scratch codebases)
// A `path` codebase records the host directory it was given (resolved), after checking it
// against the node's allow-list; deleting it never touches that directory.
import { spawn } from 'node:child_process';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { CommitQueue } from '../commit/index.ts';
import { isUnderAny, normalizePrefixes, overlaps } from './allow.ts';
import { CodebaseError } from './errors.ts';
import { extractTar, type ExtractLimits, type ExtractStats } from './extract.ts';

const MetaSchema = z.object({
  id: z.string(),
  kind: z.enum(['managed', 'path']),
  dir: z.string(),
});
export type CodebaseMeta = z.output<typeof MetaSchema>;

export interface CodebaseStoreOptions {
  /** `<dataDir>/codebases`. */
  readonly root: string;
  /** The node's data directory: a host-path codebase may not contain it (nor lie inside it). */
  readonly dataDir: string;
  /** Host directories accepted as `path` codebases (prefixes). */
  readonly allowPaths: readonly string[];
  readonly extractLimits?: ExtractLimits;
}

export class CodebaseStore {
  readonly #o: CodebaseStoreOptions;
  readonly allowPaths: readonly string[];

  constructor(o: CodebaseStoreOptions) {
    this.#o = o;
    this.allowPaths = normalizePrefixes(o.allowPaths);
  }

  #dir(id: string): string {
    return path.join(this.#o.root, id);
  }

  async #writeMeta(meta: CodebaseMeta): Promise<void> {
    const file = path.join(this.#dir(meta.id), 'codebase.json');
    await fsp.writeFile(`${file}.tmp`, JSON.stringify(meta), { mode: 0o600 });
    await fsp.rename(`${file}.tmp`, file);
  }

  async get(id: string): Promise<CodebaseMeta | null> {
    try {
      const text = await fsp.readFile(path.join(this.#dir(id), 'codebase.json'), 'utf8');
      return MetaSchema.parse(JSON.parse(text));
    } catch {
      return null;
    }
  }

  async require(id: string): Promise<CodebaseMeta> {
    const meta = await this.get(id);
    if (!meta) {
      throw new CodebaseError(
        'NOT_FOUND',
        `codebase ${id} is not on this node (deleted, or never created here)`,
      );
    }
    return meta;
  }

  /** An empty managed codebase (idempotent). */
  async createEmpty(id: string): Promise<CodebaseMeta> {
    const existing = await this.get(id);
    if (existing) return existing;
    const tree = path.join(this.#dir(id), 'tree');
    await fsp.mkdir(tree, { recursive: true, mode: 0o755 });
    const meta: CodebaseMeta = { id, kind: 'managed', dir: tree };
    await this.#writeMeta(meta);
    return meta;
  }

  /** Records a host directory after checking it against the allow-list (fail closed). */
  async createFromPath(id: string, hostPath: string): Promise<CodebaseMeta> {
    if (this.allowPaths.length === 0) {
      throw new CodebaseError(
        'PATH_NOT_ALLOWED',
        'this node accepts no host paths; start it with --allow-path <dir> (or upload the codebase)',
      );
    }
    let real: string;
    try {
      real = await fsp.realpath(hostPath);
    } catch {
      throw new CodebaseError('PATH_INVALID', `${hostPath} does not exist on this node`);
    }
    const st = await fsp.stat(real);
    if (!st.isDirectory())
      throw new CodebaseError('PATH_INVALID', `${hostPath} is not a directory`);
    if (!isUnderAny(real, this.allowPaths)) {
      throw new CodebaseError(
        'PATH_NOT_ALLOWED',
        `${real} is outside the paths this node allows (${this.allowPaths.join(', ')}); add it with --allow-path or upload the codebase`,
      );
    }
    const dataDir = await fsp.realpath(this.#o.dataDir);
    if (overlaps(real, dataDir)) {
      throw new CodebaseError(
        'PATH_INVALID',
        `${real} overlaps the node's data directory ${dataDir}; use a codebase directory outside it (or move the data dir)`,
      );
    }
    await fsp.mkdir(this.#dir(id), { recursive: true, mode: 0o700 });
    const meta: CodebaseMeta = { id, kind: 'path', dir: real };
    await this.#writeMeta(meta);
    return meta;
  }

  /**
   * Fills a managed codebase from a tar stream. Extracts beside the tree, then swaps it in, so a
   * failed or interrupted upload leaves nothing half-written; the codebase may be retried.
   */
  async importTar(id: string, tar: Readable): Promise<ExtractStats> {
    const meta = await this.get(id);
    if (meta && meta.kind === 'path') {
      throw new CodebaseError('EXISTS', `codebase ${id} is a host path; it cannot take an upload`);
    }
    const base = this.#dir(id);
    await fsp.mkdir(base, { recursive: true, mode: 0o700 });
    const partial = path.join(base, 'tree.partial');
    await fsp.rm(partial, { recursive: true, force: true });
    try {
      const stats = await extractTar(tar, partial, this.#o.extractLimits);
      const tree = path.join(base, 'tree');
      await fsp.rm(tree, { recursive: true, force: true });
      await fsp.rename(partial, tree);
      await this.#writeMeta({ id, kind: 'managed', dir: tree });
      return stats;
    } catch (err) {
      await fsp.rm(partial, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * The codebase as a tar stream (GNU tar, POSIX format, sorted, numeric owners). Holds the
   * codebase's commit turn until the stream ends, so no commit is half-applied in it.
   */
  async exportTar(id: string, commits: CommitQueue): Promise<Readable> {
    const meta = await this.require(id);
    const real = await fsp.realpath(meta.dir);
    return new Promise<Readable>((resolve, reject) => {
      commits
        .run(real, async () => {
          const child = spawn(
            'tar',
            ['--create', '--format=posix', '--sort=name', '--numeric-owner', '-C', real, '.'],
            { stdio: ['ignore', 'pipe', 'pipe'] },
          );
          const stdout = child.stdout;
          child.stderr.resume();
          resolve(stdout);
          await new Promise<void>((done) => child.once('close', () => done()));
        })
        .catch(reject);
    });
  }

  /** Forgets the codebase; a managed one's files are deleted, a host path is left alone. */
  async delete(id: string): Promise<void> {
    await fsp.rm(this.#dir(id), { recursive: true, force: true });
  }

  async list(): Promise<CodebaseMeta[]> {
    const ids = await fsp.readdir(this.#o.root).catch(() => [] as string[]);
    const out: CodebaseMeta[] = [];
    for (const id of ids) {
      const m = await this.get(id);
      if (m) out.push(m);
    }
    return out;
  }
}
