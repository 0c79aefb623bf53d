import type { ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';

/**
 * Where a subscriber's events go, seen only as far as backpressure needs: how much is queued in
 * the gateway for that client, and whether the client is still there.
 */
export interface OutputSink {
  /** Bytes accepted for this client but not yet handed to the kernel. */
  bufferedBytes(): number;
  isOpen(): boolean;
  /** Resolves once `bufferedBytes() <= highWaterBytes`, the sink closes, or `signal` aborts. */
  drained(highWaterBytes: number, signal?: AbortSignal): Promise<void>;
}

/** Re-check period while a websocket is backed up (ws exposes no public drain event). */
const WS_DRAIN_POLL_MS = 2;

export function websocketSink(ws: WebSocket): OutputSink {
  const isOpen = () => ws.readyState === ws.OPEN;
  return {
    bufferedBytes: () => ws.bufferedAmount,
    isOpen,
    async drained(highWaterBytes, signal) {
      while (isOpen() && ws.bufferedAmount > highWaterBytes && !signal?.aborted) {
        await new Promise((r) => setTimeout(r, WS_DRAIN_POLL_MS));
      }
    },
  };
}

export function httpSink(res: ServerResponse): OutputSink {
  const isOpen = () => !res.destroyed && !res.writableEnded;
  return {
    bufferedBytes: () => res.writableLength,
    isOpen,
    async drained(highWaterBytes, signal) {
      while (isOpen() && res.writableLength > highWaterBytes && !signal?.aborted) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            signal?.removeEventListener('abort', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
          signal?.addEventListener('abort', done, { once: true });
        });
      }
    },
  };
}
