// Reading one command's stdout or stderr from its own FIFO, with an exact end.
//
// The shell reports a command as done (D record) only after reaping it, so by then every byte the
// command wrote is already in the FIFO's kernel buffer — but not necessarily read by us. drain()
// closes that gap: it takes what the stream has buffered and then reads the fd synchronously until
// EAGAIN. After that the command's output is complete; anything arriving later comes from a
// background job that still holds the FIFO and is discarded (counted) without blocking that job.
//
// Opening: O_NONBLOCK so open() does not wait for the writer, O_NOFOLLOW + fstat so a path that is
// not our FIFO is refused. We also hold a write end ourselves until the command is done: without
// it a reader sees EOF before the shell has opened its end.
import fs from 'node:fs';
import net from 'node:net';
import type { Writable } from 'node:stream';

const { O_RDONLY, O_WRONLY, O_NONBLOCK, O_NOFOLLOW } = fs.constants;

/** Upper bound for one drain(): the pipe holds at most 64 KiB (default capacity) when the command ended. */
export const DRAIN_LIMIT_BYTES = 1024 * 1024;

export class FifoReader {
  readonly #fd: number;
  readonly #socket: net.Socket;
  #holdFd: number | null;
  #target: Writable | null;
  #waitingForDrain = false;
  #lateBytes = 0;
  #ended = false;
  readonly #onTargetDrain = (): void => {
    this.#waitingForDrain = false;
    this.#socket.resume();
  };

  readonly #onClosed: (() => void) | undefined;

  private constructor(
    fd: number,
    holdFd: number,
    target: Writable,
    onClosed: (() => void) | undefined,
  ) {
    this.#fd = fd;
    this.#onClosed = onClosed;
    this.#holdFd = holdFd;
    this.#target = target;
    this.#socket = new net.Socket({ fd, readable: true, writable: false });
    this.#socket.on('data', (buf: Buffer) => this.#deliver(buf));
    this.#socket.on('error', () => this.destroy());
    this.#socket.on('end', () => this.destroy());
  }

  /** Opens `path` (must be a FIFO) and forwards its data into `target`, honouring its backpressure. */
  static open(path: string, target: Writable, onClosed?: () => void): FifoReader {
    const fd = fs.openSync(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
    let hold: number;
    try {
      if (!fs.fstatSync(fd).isFIFO()) throw new Error(`${path} is not a FIFO`);
      hold = fs.openSync(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    return new FifoReader(fd, hold, target, onClosed);
  }

  /** Bytes that arrived after detach() (background jobs writing to a finished command's FIFO). */
  get lateBytes(): number {
    return this.#lateBytes;
  }

  #deliver(buf: Buffer): void {
    const t = this.#target;
    if (!t) {
      this.#lateBytes += buf.byteLength;
      return;
    }
    if (!t.write(buf) && !this.#waitingForDrain) {
      this.#waitingForDrain = true;
      this.#socket.pause();
      t.once('drain', this.#onTargetDrain);
    }
  }

  /** Delivers everything the FIFO holds right now (see the file comment). Call once the command is done. */
  drain(limitBytes = DRAIN_LIMIT_BYTES): void {
    if (this.#ended) return;
    let got = 0;
    // read() re-emits each buffered chunk as 'data', which delivers it.
    while (this.#socket.read() !== null);
    const buf = Buffer.allocUnsafe(64 * 1024);
    while (got < limitBytes) {
      let n: number;
      try {
        n = fs.readSync(this.#fd, buf, 0, buf.byteLength, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw err;
      }
      if (n === 0) break;
      got += n;
      this.#deliver(Buffer.from(buf.subarray(0, n)));
    }
  }

  /**
   * Stops forwarding (later data is counted and dropped, never blocks its writer) and lets EOF
   * arrive once no background job holds the FIFO any more, which then closes it.
   */
  detach(): void {
    const t = this.#target;
    this.#target = null;
    t?.off('drain', this.#onTargetDrain);
    this.#waitingForDrain = false;
    this.#socket.resume();
    this.#closeHold();
  }

  #closeHold(): void {
    if (this.#holdFd === null) return;
    fs.closeSync(this.#holdFd);
    this.#holdFd = null;
  }

  destroy(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#target = null;
    this.#closeHold();
    this.#socket.destroy();
    this.#onClosed?.();
  }
}
