import type { ExecOutcome, ExecRecord, ExecResult as WireResult } from '@cordon/protocol';
import { setTimeout as delay } from 'node:timers/promises';
import { TRPCClientError } from '@trpc/client';
import { backoffMs } from './backoff.ts';
import { TimeoutError, cordonError, toCordonError, type UnavailableError } from './errors.ts';
import { outputEvents, type ExecEvent, type OutputStreamOptions } from './output-stream.ts';
import type { Transport } from './transport.ts';
import type { ExecResult } from './types.ts';

/** How long one execs.wait call blocks on the gateway before the client asks again. */
const WAIT_SLICE_MS = 60_000;

/** The result of an exec canceled before it ran. */
const NOT_RUN: WireResult = {
  exitCode: null,
  signal: null,
  timedOut: false,
  oomKilled: false,
  canceled: true,
  durationMs: 0,
  stdoutBytes: 0,
  stderrBytes: 0,
  truncated: false,
  commit: null,
  denials: { count: 0, sample: [] },
};

/** The public result of an exec from the gateway's outcome. Throws for `failed`. */
export function resultOf(execId: string, outcome: ExecOutcome): ExecResult {
  if (outcome.status === 'failed') {
    const e = outcome.error ?? { code: 'INTERNAL' as const, message: `exec ${execId} failed` };
    throw cordonError(e.code, e.message);
  }
  const { handler, ...result } = outcome.result ?? NOT_RUN; // handler results: sb.handler()
  return { execId, ...result, canceled: outcome.status === 'canceled' || result.canceled };
}

function outcomeOfRecord(rec: ExecRecord): ExecOutcome {
  const status = rec.status === 'queued' || rec.status === 'running' ? 'failed' : rec.status;
  return { status, result: rec.result, error: rec.error };
}

/** No answer from the gateway at all (refused, reset, not a tRPC response): worth asking again. */
function isConnectionFailure(err: unknown): boolean {
  return err instanceof TRPCClientError && (err as { data?: unknown }).data === undefined;
}

/**
 * Blocks until the exec ends (asking the gateway in slices) and returns its record. Asks again
 * while the gateway does not answer, so a restart goes unnoticed, until the transport declares it
 * unavailable (`unavailableAfterMs`); then rejects with that UnavailableError.
 */
export async function waitForExecRecord(transport: Transport, execId: string): Promise<ExecRecord> {
  // Set by the watch while a request or a pause is pending.
  const down: { err: UnavailableError | null } = { err: null };
  const gone = new AbortController();
  const unwatch = transport.reachability.watch((err) => {
    down.err = err;
    gone.abort(err);
  });
  try {
    for (let attempt = 0; ;) {
      try {
        return await transport.trpc.execs.wait.query(
          { execId, waitMs: WAIT_SLICE_MS },
          { signal: gone.signal },
        );
      } catch (err) {
        if (down.err) throw down.err;
        if (isConnectionFailure(err) && !transport.closed) {
          // Cut short when the gateway is declared gone: the next query then fails at once.
          await delay(backoffMs(attempt++), undefined, { signal: gone.signal }).catch(
            () => undefined,
          );
          continue;
        }
        const e = toCordonError(err, transport.endpoints.origin);
        // TIMEOUT here is the wait slice running out, not the command: ask again.
        if (e instanceof TimeoutError) {
          attempt = 0;
          continue;
        }
        throw e;
      }
    }
  } finally {
    unwatch();
  }
}

/** Blocks until the exec ends and returns its result; rejects when Cordon could not finish it. */
export async function waitForExec(transport: Transport, execId: string): Promise<ExecResult> {
  return resultOf(execId, outcomeOfRecord(await waitForExecRecord(transport, execId)));
}

/**
 * A running command: iterate it for live output (each iteration replays from the start and
 * resumes transparently after reconnects), await `result` for how it ended, `cancel()` to stop it.
 */
export class ExecHandle implements AsyncIterable<ExecEvent> {
  /** The exec's id, once the gateway accepted it. Rejects if it refused (e.g. bad argv). */
  readonly id: Promise<string>;
  readonly #transport: Transport;
  #result: Promise<ExecResult> | null = null;
  #ended: ExecOutcome | null = null;

  constructor(transport: Transport, id: Promise<string>) {
    this.#transport = transport;
    this.id = id;
    // The caller may only iterate or only await `result`; never leave the rejection unhandled.
    id.catch(() => undefined);
  }

  /** Resolves when the command ended (also without iterating); rejects if Cordon could not run it. */
  get result(): Promise<ExecResult> {
    this.#result ??= this.id.then((execId) =>
      this.#ended ? resultOf(execId, this.#ended) : waitForExec(this.#transport, execId),
    );
    return this.#result;
  }

  /** Output events with options (resume point, backpressure threshold, abort). */
  async *events(o: OutputStreamOptions = {}): AsyncGenerator<ExecEvent, void, undefined> {
    const execId = await this.id;
    yield* outputEvents(
      this.#transport,
      execId,
      (outcome) => {
        this.#ended = outcome;
      },
      o,
    );
  }

  [Symbol.asyncIterator](): AsyncIterator<ExecEvent> {
    return this.events();
  }

  /** Stops the command (queued: never runs; running: killed). `result` then has `canceled`. */
  async cancel(): Promise<void> {
    const execId = await this.id;
    try {
      await this.#transport.trpc.execs.cancel.mutate({ execId });
    } catch (err) {
      throw toCordonError(err, this.#transport.endpoints.origin);
    }
  }
}
