// The per-codebase commit journal in the state directory. It is written before anything in the
// codebase changes (state 'prepared': every staged and trash name the commit may create) and
// rewritten, by an atomic rename, as the commit point (state 'committed'). Recovery rolls a
// 'prepared' journal back and a 'committed' one forward; a missing journal means no commit was in
// flight. Every path in it is validated on read, so a damaged journal cannot send recovery outside
// the codebase or make it remove anything but the commit's own reserved names.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { isNotFound } from '../delta/fingerprint.ts';
import { CommitError } from './errors.ts';
import { fsyncDir, writeFileDurably } from './fsutil.ts';
import { isCanonicalRel, parentRel, STAGE_PREFIX, TRASH_PREFIX } from './paths.ts';

export type JournalOp =
  /** Rename `staged` over `target`; an existing target that must move aside goes to `trash` first. */
  | {
      readonly kind: 'replace';
      readonly target: string;
      readonly staged: string;
      readonly trash: string | null;
    }
  /** Move `target` (a file, symlink or whole directory) to `trash`. */
  | { readonly kind: 'delete'; readonly target: string; readonly trash: string }
  /** Set the permission bits of an existing directory that stays in place. */
  | { readonly kind: 'chmod'; readonly target: string; readonly mode: number };

export type JournalState = 'prepared' | 'committed';

export interface Journal {
  readonly version: 1;
  readonly id: string;
  readonly state: JournalState;
  /** Real path of the codebase; op paths are relative to it. */
  readonly codebaseDir: string;
  /** The delta being committed; cleared when the commit rolls forward. */
  readonly deltaDir: string;
  readonly ops: readonly JournalOp[];
}

export interface CodebaseState {
  readonly dir: string;
  readonly lock: string;
  readonly journal: string;
}

/** Where the lock and journal of a codebase live: <stateDir>/codebases/<hash of its real path>. */
export function codebaseState(stateDir: string, codebaseReal: string): CodebaseState {
  const key = createHash('sha256').update(codebaseReal).digest('hex').slice(0, 16);
  const dir = path.join(stateDir, 'codebases', key);
  return { dir, lock: path.join(dir, 'lock'), journal: path.join(dir, 'journal.json') };
}

const relPath = z.string().refine(isCanonicalRel, 'not a canonical codebase-relative path');

const opSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('replace'),
    target: relPath,
    staged: relPath,
    trash: relPath.nullable(),
  }),
  z.object({ kind: z.literal('delete'), target: relPath, trash: relPath }),
  z.object({
    kind: z.literal('chmod'),
    target: relPath,
    mode: z.number().int().min(0).max(0o7777),
  }),
]);

const journalSchema = z
  .object({
    version: z.literal(1),
    id: z.string().regex(/^[0-9a-f]{16}$/),
    state: z.enum(['prepared', 'committed']),
    codebaseDir: z.string().refine((p) => path.isAbsolute(p)),
    deltaDir: z.string().refine((p) => path.isAbsolute(p)),
    ops: z.array(opSchema),
  })
  .refine((j) => j.ops.every((op) => reservedNamesValid(op, j.id)), {
    message: 'a staged or trash name is not a reserved sibling of its target',
  });

/** Staged and trash names must be siblings of the target carrying this commit's reserved prefix. */
export function reservedNamesValid(op: JournalOp, id: string): boolean {
  const sibling = (rel: string, prefix: string): boolean =>
    rel !== '/' &&
    op.target !== '/' &&
    parentRel(rel) === parentRel(op.target) &&
    path.posix.basename(rel).startsWith(`${prefix}${id}.`);
  switch (op.kind) {
    case 'replace':
      return (
        sibling(op.staged, STAGE_PREFIX) && (op.trash === null || sibling(op.trash, TRASH_PREFIX))
      );
    case 'delete':
      return sibling(op.trash, TRASH_PREFIX);
    case 'chmod':
      return true;
  }
}

export function parseJournal(text: string): Journal {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CommitError(
      'JOURNAL_CORRUPT',
      'the commit journal is not valid JSON; inspect it by hand',
      {
        cause: err,
      },
    );
  }
  const parsed = journalSchema.safeParse(value);
  if (!parsed.success) {
    throw new CommitError(
      'JOURNAL_CORRUPT',
      `the commit journal is malformed (${parsed.error.issues[0]?.message ?? 'invalid'}); inspect it by hand`,
    );
  }
  return parsed.data;
}

/** Atomically replaces the journal (write + fsync a temp file, rename, fsync the directory). */
export async function writeJournal(state: CodebaseState, journal: Journal): Promise<void> {
  const tmp = `${state.journal}.tmp`;
  await writeFileDurably(tmp, JSON.stringify(journal));
  await fs.rename(tmp, state.journal);
  await fsyncDir(state.dir);
}

export async function readJournal(state: CodebaseState): Promise<Journal | null> {
  let text: string;
  try {
    text = await fs.readFile(state.journal, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
  return parseJournal(text);
}

export async function removeJournal(state: CodebaseState): Promise<void> {
  await fs.rm(state.journal, { force: true });
  await fs.rm(`${state.journal}.tmp`, { force: true });
  await fsyncDir(state.dir);
}
