import { createReadStream } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { UploadProgress } from '../types.ts';
import { walkLocal, type LocalEntry } from './walk.ts';

export interface PackOptions {
  readonly ignore?: readonly string[];
  readonly onProgress?: (p: UploadProgress) => void;
}

/**
 * Streams `root` as a tar (ustar/pax via tar-stream), leaving out what .gitignore ignores. A scan
 * first counts files and bytes so progress can show totals; files are read as they are packed.
 */
export async function packDirectory(
  root: string,
  o: PackOptions = {},
): Promise<AsyncIterable<Buffer>> {
  const entries: LocalEntry[] = [];
  let totalBytes = 0;
  for await (const e of walkLocal(root, o.ignore ?? [])) {
    entries.push(e);
    totalBytes += e.size;
  }
  const totalFiles = entries.filter((e) => e.type === 'file').length;
  o.onProgress?.({ phase: 'scan', files: 0, bytes: 0, totalFiles, totalBytes });

  const pack = tar.pack();
  const fill = async () => {
    let files = 0;
    let bytes = 0;
    for (const e of entries) {
      switch (e.type) {
        case 'directory':
          await new Promise<void>((res, rej) =>
            pack.entry(
              { name: `${e.rel}/`, type: 'directory', mode: e.mode, mtime: e.mtime },
              (err) => (err ? rej(err) : res()),
            ),
          );
          break;
        case 'symlink': {
          const linkname = await readlink(e.abs);
          await new Promise<void>((res, rej) =>
            pack.entry(
              { name: e.rel, type: 'symlink', linkname, mode: e.mode, mtime: e.mtime },
              (err) => (err ? rej(err) : res()),
            ),
          );
          break;
        }
        case 'file': {
          const sink = pack.entry({
            name: e.rel,
            type: 'file',
            size: e.size,
            mode: e.mode,
            mtime: e.mtime,
          });
          await pipeline(createReadStream(e.abs), sink);
          files++;
          bytes += e.size;
          o.onProgress?.({ phase: 'upload', files, bytes, totalFiles, totalBytes });
          break;
        }
      }
    }
    pack.finalize();
    o.onProgress?.({ phase: 'done', files, bytes, totalFiles, totalBytes });
  };
  fill().catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  return pack as unknown as AsyncIterable<Buffer>;
}
