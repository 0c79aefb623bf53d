import { UnavailableError } from './errors.ts';

export interface ReachabilityOptions {
  /** The gateway, for the error message. */
  readonly origin: string;
  /** How long the gateway may be unreachable while someone waits on it. */
  readonly unavailableAfterMs: number;
  /** Whether the websocket is open right now (an open socket means the gateway is there). */
  readonly socketOpen: () => boolean;
  /** Called once per outage that outlasted the bound, after the watchers were told. */
  readonly onUnavailable?: () => void;
}

/**
 * How long the gateway has been unreachable, for the streams and waits that depend on it.
 *
 * The clock starts at the first failure seen while someone watches (an HTTP request without an
 * answer, a websocket lost or not opening) and stops at the next sign of life (any answer over
 * HTTP, an open websocket). A failure while the websocket is open does not start it: the gateway
 * is there. If the clock reaches `unavailableAfterMs`, every watcher gets an UnavailableError and
 * the clock resets, so a later watch gets a fresh bound. With nobody watching nothing is tracked:
 * a stale failure must not shorten the next wait.
 */
export interface Reachability {
  /** The gateway answered (over HTTP, or the websocket opened). */
  answered(): void;
  /** A request or a connection attempt got no answer from the gateway. */
  failed(cause: unknown): void;
  /**
   * Calls `onUnavailable` (at most once) if the gateway stays unreachable for the bound while
   * this watch lasts. Returns the function that ends the watch.
   */
  watch(onUnavailable: (err: UnavailableError) => void): () => void;
  /** Stops the clock for good (the client closed). */
  close(): void;
}

/** The innermost message of an error chain (`fetch failed` → `connect ECONNREFUSED …`). */
export function causeMessage(cause: unknown): string {
  let message = '';
  let cur: unknown = cause;
  for (let depth = 0; depth < 8 && cur !== null && typeof cur === 'object'; depth++) {
    const o = cur as { message?: unknown; cause?: unknown; error?: unknown };
    if (typeof o.message === 'string' && o.message !== '') message = o.message;
    // A websocket ErrorEvent carries the Error in `error`, the others chain with `cause`.
    cur = o.cause ?? o.error;
  }
  return message;
}

export function unavailableError(origin: string, downMs: number, cause: unknown): UnavailableError {
  const why = causeMessage(cause);
  const seconds = Math.max(1, Math.round(downMs / 1000));
  return new UnavailableError(
    'UNAVAILABLE',
    `cannot reach the Cordon gateway at ${origin} for ${seconds} s${why ? ` (${why})` : ''}; is it running? Start one with \`cordon up\` or check the url`,
    { cause },
  );
}

export function createReachability(o: ReachabilityOptions): Reachability {
  const watchers = new Set<(err: UnavailableError) => void>();
  let downSince: number | null = null;
  let lastCause: unknown = undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const reset = () => {
    downSince = null;
    clearTimeout(timer);
    timer = undefined;
  };
  const expire = () => {
    timer = undefined;
    if (downSince === null) return;
    const err = unavailableError(o.origin, Date.now() - downSince, lastCause);
    const told = [...watchers];
    watchers.clear();
    reset();
    for (const w of told) w(err);
    o.onUnavailable?.();
  };

  return {
    answered: reset,
    failed(cause) {
      if (closed || watchers.size === 0 || o.socketOpen()) return;
      lastCause = cause;
      if (downSince !== null) return;
      downSince = Date.now();
      timer = setTimeout(expire, o.unavailableAfterMs);
      // Never what keeps a process alive: whoever waits holds its own handle (a socket, a retry).
      timer.unref();
    },
    watch(onUnavailable) {
      // A distinct function per watch: the same callback may watch twice.
      const w = (err: UnavailableError) => onUnavailable(err);
      watchers.add(w);
      return () => {
        watchers.delete(w);
        if (watchers.size === 0) reset();
      };
    },
    close() {
      closed = true;
      watchers.clear();
      reset();
    },
  };
}
