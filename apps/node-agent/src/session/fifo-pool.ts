// Per-command FIFOs, made ahead in batches: Node has no mkfifo(2), and one mkfifo(1) run per
// command would cost about a millisecond of the round trip. FIFOs are created by the agent (root)
// in the session's host directory and handed to the sandbox uid; the directory itself is
// read-only inside the sandbox, so the sandbox cannot swap a FIFO for something else.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from '../host/layout.ts';

const run = promisify(execFile);

export const FIFO_BATCH = 64;

export class FifoPool {
  readonly #dir: string;
  readonly #uid: number;
  readonly #gid: number;
  readonly #batch: number;
  readonly #mkfifo: string;
  /** FIFOs exist for ids below this. */
  #made = 1;
  #pending: Promise<void> | null = null;

  constructor(dir: string, owner: { uid: number; gid: number }, batch = FIFO_BATCH) {
    this.#dir = dir;
    this.#uid = owner.uid;
    this.#gid = owner.gid;
    this.#batch = batch;
    this.#mkfifo = findExecutable('mkfifo') ?? '/usr/bin/mkfifo';
  }

  stdoutPath(id: number): string {
    return path.join(this.#dir, `o${id}`);
  }

  stderrPath(id: number): string {
    return path.join(this.#dir, `e${id}`);
  }

  /** Makes sure the FIFOs of `id` exist, and starts the next batch early. */
  async ensure(id: number): Promise<void> {
    while (id >= this.#made) await this.#grow();
    if (id + this.#batch / 4 >= this.#made && !this.#pending)
      void this.#grow().catch(() => undefined);
  }

  #grow(): Promise<void> {
    this.#pending ??= (async () => {
      const from = this.#made;
      const to = from + this.#batch;
      const paths: string[] = [];
      for (let id = from; id < to; id++) paths.push(this.stdoutPath(id), this.stderrPath(id));
      await run(this.#mkfifo, ['-m', '600', '--', ...paths]);
      for (const p of paths) fs.chownSync(p, this.#uid, this.#gid);
      this.#made = to;
    })().finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  /** Removes the FIFOs of a finished command (open fds stay valid). */
  release(id: number): void {
    for (const p of [this.stdoutPath(id), this.stderrPath(id)]) fs.unlink(p, () => undefined);
  }
}
