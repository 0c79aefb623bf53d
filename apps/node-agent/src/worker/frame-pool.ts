import { MAX_CHUNK_FRAME_BYTES } from '@cordon/protocol';

export interface FramePoolOptions {
  /** Idle buffers kept for reuse, in bytes; more are left to the garbage collector. Default 8 MiB. */
  readonly keepBytes?: number;
}

/**
 * Reused buffers for big output frames. A frame stays alive until its gateway acknowledges it —
 * long enough to survive a young-generation collection and be promoted — so allocating one per
 * 256 KiB chunk filled the old generation with dead buffers at streaming speed: ~20 full
 * collections per 512 MiB streamed, a quarter of the node agent's CPU. Buffers taken from here
 * are returned on acknowledgement, when the socket no longer reads them.
 */
export class FramePool {
  readonly #free: Buffer[] = [];
  readonly #keep: number;

  constructor(o: FramePoolOptions = {}) {
    this.#keep = Math.floor((o.keepBytes ?? 8 * 1024 * 1024) / MAX_CHUNK_FRAME_BYTES);
  }

  /** A buffer of MAX_CHUNK_FRAME_BYTES (contents undefined). */
  acquire(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(MAX_CHUNK_FRAME_BYTES);
  }

  /** Gives back a buffer from `acquire` that nothing reads or writes any more. */
  release(buf: Buffer): void {
    if (this.#free.length < this.#keep) this.#free.push(buf);
  }

  /** Idle buffers held (for tests). */
  get idle(): number {
    return this.#free.length;
  }
}
