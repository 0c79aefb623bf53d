import type { ExecOutcome } from '@cordon/protocol';

/** What the output path reports to metrics; the observability module implements it. */
export interface OutputObserver {
  /** A chunk of `bytes` decoded bytes was stored in an exec's stream. */
  chunkStored(bytes: number): void;
  /** A chunk of `bytes` decoded bytes was handed to a subscriber's connection. */
  chunkDelivered(bytes: number): void;
  /** A node reported an exec's outcome and this gateway stored it. */
  execEnded(outcome: ExecOutcome): void;
  /**
   * An exec's outcome is stored (by this call or an earlier one); `hash` is its record as read
   * right after. Lets this gateway answer its own `execs.wait` callers without a Redis round trip.
   */
  execSettled?(execId: string, hash: Readonly<Record<string, string>>): void;
}

/** `observer` plus local wake-ups of waiters on `doneBus` when an exec settles here. */
export function withLocalWake(
  observer: OutputObserver,
  wake: (key: string, payload: Readonly<Record<string, string>>) => void,
): OutputObserver {
  return {
    chunkStored: (bytes) => observer.chunkStored(bytes),
    chunkDelivered: (bytes) => observer.chunkDelivered(bytes),
    execEnded: (outcome) => observer.execEnded(outcome),
    execSettled: (execId, hash) => {
      observer.execSettled?.(execId, hash);
      wake(`exec:${execId}`, hash);
    },
  };
}

export const NO_OUTPUT_OBSERVER: OutputObserver = Object.freeze({
  chunkStored: () => {},
  chunkDelivered: () => {},
  execEnded: () => {},
});

/** Decoded length of a base64 string without decoding it. */
export function base64Bytes(data: string): number {
  const pad = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return (data.length / 4) * 3 - pad;
}
