// Appends first-seen source fingerprints to <delta>/seen.ndjson (format in ../delta/layout.ts): the
// first time a source entry is read, copied up, overwritten or deleted, or a path is first found
// absent when something is created there. One small O_APPEND write per path, synchronously, so the
// record is in the file before the operation that needed it answers.
import fs from 'node:fs';
import { fingerprintOf } from '../delta/fingerprint.ts';
import type { SeenRecord } from '../delta/layout.ts';

export class SeenLog {
  readonly #file: string;
  #fd: number | null = null;
  #seen = new Set<string>();

  constructor(file: string) {
    this.#file = file;
  }

  /** Paths recorded since the last reset. */
  get size(): number {
    return this.#seen.size;
  }

  has(p: string): boolean {
    return this.#seen.has(p);
  }

  /** Records `p` with the fingerprint of `abs` (the source entry), or null if it does not exist. */
  record(p: string, abs: string | null): void {
    if (this.#seen.has(p)) return;
    let fp: SeenRecord['fp'] = null;
    if (abs !== null) {
      const st = fs.lstatSync(abs, { bigint: true, throwIfNoEntry: false });
      fp = st ? fingerprintOf(st) : null;
    }
    const line: SeenRecord = { path: p, fp };
    this.#fd ??= fs.openSync(
      this.#file,
      fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT,
      0o600,
    );
    fs.writeSync(this.#fd, JSON.stringify(line) + '\n');
    this.#seen.add(p);
  }

  /** Called after the committer cleared the delta (and with it seen.ndjson). */
  reset(): void {
    this.close();
    this.#seen = new Set();
  }

  /** Loads records already in the file (a restarted host keeps the first fingerprint). */
  preload(paths: Iterable<string>): void {
    for (const p of paths) this.#seen.add(p);
  }

  close(): void {
    if (this.#fd !== null) fs.closeSync(this.#fd);
    this.#fd = null;
  }
}
