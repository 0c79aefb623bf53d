// Reads a sandbox's delta (see layout.ts) into memory: the upper tree with its whiteouts and opaque
// markers, and the first-seen fingerprints. Never follows symlinks; never writes.
import fs from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import path from 'node:path';
import { isNotFound } from './fingerprint.ts';
import {
  deltaPaths,
  isReservedName,
  OPAQUE_MARKER,
  whiteoutTarget,
  type Fingerprint,
  type SeenRecord,
} from './layout.ts';

interface UpperEntryBase {
  readonly name: string;
  /** Codebase-relative path with a leading '/'. */
  readonly path: string;
  /** Absolute path of the entry inside <deltaDir>/upper. */
  readonly abs: string;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly atimeNs: bigint;
  readonly mtimeNs: bigint;
}

export interface UpperFile extends UpperEntryBase {
  readonly kind: 'file';
  readonly size: number;
}

export interface UpperSymlink extends UpperEntryBase {
  readonly kind: 'symlink';
  readonly target: string;
}

export interface UpperDir extends UpperEntryBase {
  readonly kind: 'dir';
  /** The directory hides everything below it in the source (deleted and re-created). */
  readonly opaque: boolean;
  /** Names deleted from this directory (sorted). */
  readonly whiteouts: readonly string[];
  /** Entries with reserved names left out; sorted by name. */
  readonly children: readonly UpperNode[];
}

/** A fifo, socket or device: the mount never creates one, so the committer refuses it. */
export interface UpperOther extends UpperEntryBase {
  readonly kind: 'other';
}

export type UpperNode = UpperFile | UpperSymlink | UpperDir | UpperOther;

/** The upper tree rooted at '/', or null when the delta holds no upper directory (nothing changed). */
export async function scanDelta(deltaDir: string): Promise<UpperDir | null> {
  const { upper } = deltaPaths(deltaDir);
  let stat: BigIntStats;
  try {
    stat = await fs.lstat(upper, { bigint: true });
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
  if (!stat.isDirectory()) throw new Error(`${upper} is not a directory: recreate the delta`);
  return scanDir('', '/', upper, stat);
}

async function scanDir(
  name: string,
  relPath: string,
  abs: string,
  stat: BigIntStats,
): Promise<UpperDir> {
  const dirents = await fs.readdir(abs, { withFileTypes: true });
  let opaque = false;
  const whiteouts: string[] = [];
  const visible: string[] = [];
  for (const d of dirents) {
    if (d.name === OPAQUE_MARKER) {
      opaque = true;
      continue;
    }
    const target = whiteoutTarget(d.name);
    if (target !== null) {
      if (target !== '' && !isReservedName(target)) whiteouts.push(target);
      continue;
    }
    // Other reserved names are the mount's own scratch files; they never reach the codebase.
    if (isReservedName(d.name)) continue;
    visible.push(d.name);
  }
  visible.sort();
  whiteouts.sort();
  const children = await Promise.all(
    visible.map((child) => scanEntry(child, joinRel(relPath, child), path.join(abs, child))),
  );
  return { ...base(name, relPath, abs, stat), kind: 'dir', opaque, whiteouts, children };
}

async function scanEntry(name: string, relPath: string, abs: string): Promise<UpperNode> {
  const stat = await fs.lstat(abs, { bigint: true });
  if (stat.isDirectory()) return scanDir(name, relPath, abs, stat);
  if (stat.isFile())
    return { ...base(name, relPath, abs, stat), kind: 'file', size: Number(stat.size) };
  if (stat.isSymbolicLink()) {
    return { ...base(name, relPath, abs, stat), kind: 'symlink', target: await fs.readlink(abs) };
  }
  return { ...base(name, relPath, abs, stat), kind: 'other' };
}

function base(name: string, relPath: string, abs: string, stat: BigIntStats): UpperEntryBase {
  return {
    name,
    path: relPath,
    abs,
    mode: Number(stat.mode) & 0o7777,
    uid: Number(stat.uid),
    gid: Number(stat.gid),
    atimeNs: stat.atimeNs,
    mtimeNs: stat.mtimeNs,
  };
}

/** '/a' + 'b' → '/a/b'; '/' + 'b' → '/b'. */
export function joinRel(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** Every node of the tree below `dir` (not `dir` itself), depth first, parents before children. */
export function* descendants(dir: UpperDir): Generator<UpperNode> {
  for (const child of dir.children) {
    yield child;
    if (child.kind === 'dir') yield* descendants(child);
  }
}

/**
 * One line of seen.ndjson, or null when it is not a valid record (a line torn by a crash of the
 * fs host mid-append is skipped: its path simply has no first-seen fingerprint).
 */
export function parseSeenLine(line: string): SeenRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { path: p, fp } = value as { path?: unknown; fp?: unknown };
  if (typeof p !== 'string' || !p.startsWith('/')) return null;
  if (fp === null) return { path: p, fp: null };
  if (typeof fp !== 'object' || fp === undefined) return null;
  const { size, mtimeNs, ino } = fp as { size?: unknown; mtimeNs?: unknown; ino?: unknown };
  if (typeof size !== 'number' || typeof ino !== 'number') return null;
  if (typeof mtimeNs !== 'string' && typeof mtimeNs !== 'number') return null;
  const fingerprint: Fingerprint = { size, mtimeNs: String(mtimeNs), ino };
  return { path: p, fp: fingerprint };
}

/** First-seen fingerprints by path (the first record of a path wins); empty when the file is absent. */
export async function readSeen(deltaDir: string): Promise<Map<string, Fingerprint | null>> {
  const seen = new Map<string, Fingerprint | null>();
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(deltaPaths(deltaDir).seen, 'r');
  } catch (err) {
    if (isNotFound(err)) return seen;
    throw err;
  }
  try {
    for await (const line of handle.readLines({ encoding: 'utf8', autoClose: false })) {
      if (line.trim() === '') continue;
      const record = parseSeenLine(line);
      if (record !== null && !seen.has(record.path)) seen.set(record.path, record.fp);
    }
  } finally {
    await handle.close();
  }
  return seen;
}
