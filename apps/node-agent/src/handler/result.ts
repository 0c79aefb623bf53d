// The harness's result document (see harness.py / harness.mjs) → the handler result, as pure
// functions. The document comes from the sandbox, so it is parsed defensively: anything that does
// not fit the format is reported as a protocol error, never trusted.

export interface HandlerError {
  /**
   * The exception's class name for errors of the handler's code (e.g. "ValueError", "TypeError",
   * "SyntaxError"), or one of HandlerFailure for failures around it.
   */
  readonly type: string;
  readonly message: string;
  readonly stack: string;
}

/** Error types Cordon itself reports (the others are the handler's exception class names). */
export type HandlerFailure =
  /** The code defines/exports no function named `handler`. */
  | 'HandlerNotFound'
  /** The handler returned something JSON cannot represent (a set, a BigInt, a cycle, NaN…). */
  | 'ResultNotSerializable'
  /** The result document exceeded maxResultBytes. */
  | 'ResultTooLarge'
  /** The handler ran past timeoutMs and was killed. */
  | 'Timeout'
  /** The run was canceled (its abort signal fired) and was killed. */
  | 'Canceled'
  /** The sandbox's memory limit was hit and the OOM killer ended the run. */
  | 'OutOfMemory'
  /** The runtime exited without a result (process.exit, os._exit, a crash, a signal). */
  | 'RuntimeExited'
  /** A thrown value that is not an Error (JavaScript `throw "x"`). */
  | 'NonErrorThrown'
  /** Python's sys.exit() inside the handler. */
  | 'SystemExit'
  /** The result channel carried something that is not a harness document. */
  | 'HarnessProtocolError';

export type ParsedOutcome =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: HandlerError };

function failure(type: HandlerFailure, message: string): ParsedOutcome {
  return { ok: false, error: { type, message, stack: '' } };
}

/** Parses the bytes the harness wrote to its result channel (empty when it wrote nothing). */
export function parseOutcome(raw: string): ParsedOutcome | null {
  if (raw === '') return null;
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    return failure('HarnessProtocolError', 'the result channel did not carry valid JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return failure('HarnessProtocolError', 'the result document is not an object');
  }
  const d = doc as Record<string, unknown>;
  if (d.ok === true && 'result' in d) return { ok: true, result: d.result };
  if (d.ok === false && typeof d.error === 'object' && d.error !== null) {
    const e = d.error as Record<string, unknown>;
    if (
      typeof e.type === 'string' &&
      typeof e.message === 'string' &&
      (e.stack === undefined || typeof e.stack === 'string')
    ) {
      return { ok: false, error: { type: e.type, message: e.message, stack: e.stack ?? '' } };
    }
  }
  return failure('HarnessProtocolError', 'the result document does not have the harness format');
}

export interface ExitFacts {
  /** Absent = false (callers without cancellation). */
  readonly canceled?: boolean;
  readonly timedOut: boolean;
  readonly timeoutMs: number;
  readonly oomKilled: boolean;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly resultTooLarge: boolean;
  readonly maxResultBytes: number;
}

/**
 * The outcome of a run: the harness's document when it wrote one (unless a limit was hit, which
 * takes precedence since a killed run's document may be partial), else why there is none.
 */
export function decideOutcome(raw: string, facts: ExitFacts): ParsedOutcome {
  if (facts.canceled)
    return failure('Canceled', 'the handler was canceled and was killed before it returned');
  if (facts.timedOut)
    return failure(
      'Timeout',
      `the handler did not finish within ${facts.timeoutMs} ms and was killed`,
    );
  if (facts.oomKilled)
    return failure(
      'OutOfMemory',
      'the handler exceeded the sandbox memory limit and was killed by the OOM killer',
    );
  if (facts.resultTooLarge)
    return failure(
      'ResultTooLarge',
      `the handler's result is larger than ${facts.maxResultBytes} bytes`,
    );
  const parsed = parseOutcome(raw);
  if (parsed) return parsed;
  const how = facts.signal ? `signal ${facts.signal}` : `exit status ${facts.exitCode}`;
  return failure(
    'RuntimeExited',
    `the runtime exited (${how}) before the handler returned; see stderr`,
  );
}
