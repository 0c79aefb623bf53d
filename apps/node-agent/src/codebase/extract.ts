// Unpacks an uploaded tar stream into a fresh directory, as root, without trusting the archive:
// names are normalised and refused when absolute or containing '..'; nothing is ever written
// through a symbolic link (every parent must be a directory this extraction made or found as a
// real directory); only regular files, directories, symbolic links and hard links (to files
// already extracted) are accepted; setuid/setgid/sticky bits and owners are dropped; total bytes
// and entries are capped. gzip input is detected and inflated.
import { constants as C } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract, type Header } from 'tar-stream';
import { CodebaseError } from './errors.ts';

export interface ExtractLimits {
  /** Sum of regular file sizes. Default 4 GiB. */
  readonly maxBytes?: number;
  /** Entries of any type. Default 1 000 000. */
  readonly maxEntries?: number;
}

export interface ExtractStats {
  readonly files: number;
  readonly dirs: number;
  readonly symlinks: number;
  readonly bytes: number;
}

/** A tar member name as a safe relative path ('' for the root), or throws BAD_ARCHIVE. Pure. */
export function safeMemberPath(name: string): string {
  if (name.includes('\0')) throw bad(name, 'contains NUL');
  if (name.startsWith('/')) throw bad(name, 'is absolute');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw bad(name, "contains '..'");
  return parts.join('/');
}

function bad(name: string, why: string): CodebaseError {
  return new CodebaseError(
    'BAD_ARCHIVE',
    `tar member ${JSON.stringify(name.slice(0, 200))} ${why}; pack paths relative to the project root`,
  );
}

/**
 * Looks at the first chunk to tell gzip from plain tar, then yields the plain tar stream. Reads
 * through the input's own iterator, so backpressure reaches the sender unchanged.
 */
async function maybeGunzip(input: Readable): Promise<Readable> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await it.next();
  const head = first.done ? null : Buffer.from(first.value);
  const rest = Readable.from(
    (async function* () {
      if (head) yield head;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield Buffer.from(n.value);
      }
    })(),
    { objectMode: false },
  );
  if (head && head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    rest.once('error', (e) => gunzip.destroy(e));
    return rest.pipe(gunzip);
  }
  return rest;
}

export async function extractTar(
  input: Readable,
  destDir: string,
  limits: ExtractLimits = {},
): Promise<ExtractStats> {
  const maxBytes = limits.maxBytes ?? 4 * 1024 ** 3;
  const maxEntries = limits.maxEntries ?? 1_000_000;
  const root = path.resolve(destDir);
  await fsp.mkdir(root, { recursive: true, mode: 0o755 });
  /** Relative paths of directories known to be real directories ('' = root). */
  const dirs = new Set<string>(['']);
  const files = new Set<string>();
  const stats = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  let entries = 0;

  const ensureDir = async (rel: string): Promise<void> => {
    if (dirs.has(rel)) return;
    await ensureDir(path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel));
    const abs = path.join(root, rel);
    const st = await fsp.lstat(abs).catch(() => null);
    if (st === null) await fsp.mkdir(abs, { mode: 0o755 });
    else if (!st.isDirectory()) throw bad(rel, 'is used as a directory but is not one');
    dirs.add(rel);
    files.delete(rel);
  };
  const clearTarget = async (rel: string): Promise<void> => {
    const abs = path.join(root, rel);
    const st = await fsp.lstat(abs).catch(() => null);
    if (st === null) return;
    if (st.isDirectory()) throw bad(rel, 'replaces a directory');
    await fsp.unlink(abs);
    files.delete(rel);
  };

  const tar = tarExtract();
  const source = await maybeGunzip(input);
  const feeding = pipeline(source, tar);
  feeding.catch(() => undefined);
  try {
    for await (const entry of tar) {
      const h: Header = entry.header;
      if (++entries > maxEntries) {
        throw new CodebaseError('TOO_LARGE', `the archive has more than ${maxEntries} entries`);
      }
      const rel = safeMemberPath(h.name);
      const parent = path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel);
      const abs = path.join(root, rel);
      const mode = (h.mode || 0o644) & 0o777;
      switch (h.type) {
        case 'directory':
          if (rel !== '') {
            await ensureDir(rel);
            await fsp.chmod(abs, mode | 0o700);
            stats.dirs++;
          }
          entry.resume();
          break;
        case 'file':
        case 'contiguous-file': {
          if (rel === '') throw bad(h.name, 'names the root as a file');
          await ensureDir(parent);
          await clearTarget(rel);
          stats.bytes += h.size;
          if (stats.bytes > maxBytes) {
            throw new CodebaseError(
              'TOO_LARGE',
              `the archive holds more than ${maxBytes} bytes of files; upload less or raise the node's limit`,
            );
          }
          const fh = await fsp.open(abs, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, mode);
          try {
            // entry is a streamx stream: its async iterator is the reliable bridge.
            for await (const chunk of entry as AsyncIterable<Uint8Array>) await fh.write(chunk);
          } finally {
            await fh.close();
          }
          await fsp.chmod(abs, mode);
          await fsp.utimes(abs, h.mtime, h.mtime);
          files.add(rel);
          stats.files++;
          break;
        }
        case 'symlink':
          if (rel === '') throw bad(h.name, 'names the root as a link');
          if (h.linkname.includes('\0')) throw bad(h.name, 'has a NUL in its link target');
          await ensureDir(parent);
          await clearTarget(rel);
          // Stored as is: inside a sandbox the permission filesystem clamps targets at the root.
          await fsp.symlink(h.linkname, abs);
          stats.symlinks++;
          entry.resume();
          break;
        case 'link': {
          const target = safeMemberPath(h.linkname);
          if (!files.has(target)) {
            throw bad(
              h.name,
              `is a hard link to ${JSON.stringify(h.linkname)}, not an earlier file`,
            );
          }
          await ensureDir(parent);
          await clearTarget(rel);
          await fsp.link(path.join(root, target), abs);
          files.add(rel);
          stats.files++;
          entry.resume();
          break;
        }
        default:
          throw bad(h.name, `is a ${h.type}; only files, directories and links are accepted`);
      }
    }
    await feeding;
  } catch (err) {
    tar.destroy();
    source.destroy();
    input.destroy();
    if (err instanceof CodebaseError) throw err;
    throw new CodebaseError(
      'BAD_ARCHIVE',
      `the upload is not a readable tar archive (${(err as Error).message}); send a tar or tar.gz stream`,
      { cause: err },
    );
  }
  return stats;
}
