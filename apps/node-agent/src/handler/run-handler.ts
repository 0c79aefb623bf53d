// Lambda-style handler execution: run code that defines `handler(event)` inside the sandbox with a
// JSON event and return { result, stdout, stderr, error }.
//
// The code and the event are files in a per-run directory bound read-only into the sandbox (never
// command-line arguments); a small harness per language loads the code, calls the handler and
// writes the outcome as one JSON document to fd 6 — a channel of its own, so nothing the handler
// prints to stdout/stderr can be mistaken for the result.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecCgroup } from '../cgroup/types.ts';
import { OutputMux } from '../output/mux.ts';
import { DEFAULT_KILL_GRACE_MS, decodeExit } from '../runner/runner.ts';
import { commandPids } from '../runner/terminate.ts';
import { SessionError } from '../session/errors.ts';
import {
  killSandbox,
  spawnSandboxProcess,
  type SandboxHandle,
} from '../session/sandbox-process.ts';
import { defaultRuntimeDir } from '../session/types.ts';
import { HARNESS_JS } from './harness-js.ts';
import { decideOutcome, type HandlerError } from './result.ts';

export type HandlerLanguage = 'python' | 'javascript';

export interface HandlerRequest {
  readonly language: HandlerLanguage;
  /** Source defining `handler(event)`: Python `def`/`async def`; JS `export function` or `module.exports.handler`. */
  readonly code: string;
  /** Any JSON-serialisable value; `undefined` becomes null. */
  readonly event?: unknown;
  /** Wall-clock limit of the whole run (runtime start included). Default 30 s. */
  readonly timeoutMs?: number;
}

export interface HandlerOptions {
  /** SIGTERM → SIGKILL grace on timeout. Default 2000 ms. */
  readonly killGraceMs?: number;
  /** Cap on stdout + stderr kept; default the sandbox's limits.outputBytes. */
  readonly outputBytes?: number;
  /** Cap on the result document. Default 6 MiB. */
  readonly maxResultBytes?: number;
  /** Host directory for the per-run files. Default: as for sessions (/dev/shm when tmpfs). */
  readonly runtimeDir?: string;
  /** Interpreters inside the sandbox. Defaults /usr/bin/python3 and /usr/bin/node. */
  readonly pythonPath?: string;
  readonly nodePath?: string;
  /**
   * Cancels the run: the handler's processes get SIGTERM, then (after killGraceMs) the whole
   * sandbox process tree is killed; the result has `error.type: 'Canceled'`. Already aborted:
   * nothing is started.
   */
  readonly signal?: AbortSignal;
}

export interface HandlerResult {
  /** The handler's return value (JSON), or null when it failed. */
  readonly result: unknown;
  readonly stdout: string;
  readonly stderr: string;
  readonly error: HandlerError | null;
  readonly durationMs: number;
  /** stdout/stderr were cut at the output cap. */
  readonly truncated: boolean;
}

export const DEFAULT_HANDLER_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RESULT_BYTES = 6 * 1024 * 1024;
/** Where the run directory appears inside the sandbox (read-only). */
export const HANDLER_DIR = '/run/cordon-handler';

const CANCELED: HandlerError = {
  type: 'Canceled',
  message: 'the handler was canceled before it started',
  stack: '',
};

const HARNESS_PY = fs.readFileSync(new URL('./harness.py', import.meta.url), 'utf8');

function argvFor(language: HandlerLanguage, opts: HandlerOptions): string[] {
  switch (language) {
    case 'python':
      return [opts.pythonPath ?? '/usr/bin/python3', '-u', '-B', `${HANDLER_DIR}/harness.py`];
    case 'javascript':
      return [
        opts.nodePath ?? '/usr/bin/node',
        '--experimental-detect-module',
        '--disable-warning=ExperimentalWarning',
        `${HANDLER_DIR}/harness.mjs`,
      ];
  }
}

function encodeEvent(event: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(event ?? null);
  } catch (err) {
    throw new SessionError(
      'INVALID_REQUEST',
      `the event must be JSON-serialisable: ${(err as Error).message}`,
    );
  }
  if (text === undefined)
    throw new SessionError(
      'INVALID_REQUEST',
      `the event must be JSON-serialisable, got a ${typeof event}`,
    );
  return text;
}

/** SIGTERM to the runtime's processes, then (after the grace, or once it exited) the whole sandbox. */
async function terminate(
  leaf: ExecCgroup,
  outerPid: number | undefined,
  exited: Promise<unknown>,
  graceMs: number,
): Promise<void> {
  for (const pid of await commandPids(leaf, outerPid)) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const grace = new AbortController();
  await Promise.race([
    exited,
    sleep(graceMs, undefined, { signal: grace.signal }).catch(() => undefined),
  ]);
  grace.abort();
  await killSandbox(leaf, outerPid, exited);
}

/** Reads a stream to its end, keeping at most `cap` bytes (the rest is drained and counted). */
function readCapped(stream: Readable, cap: number): Promise<{ text: string; overflow: boolean }> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    let overflow = false;
    stream.on('data', (buf: Buffer) => {
      if (size + buf.byteLength > cap) overflow = true;
      else parts.push(buf);
      size += buf.byteLength;
    });
    const end = (): void =>
      resolve({ text: overflow ? '' : Buffer.concat(parts).toString('utf8'), overflow });
    stream.once('end', end);
    stream.once('close', end);
    stream.once('error', end);
  });
}

/**
 * Runs a handler in the sandbox. Never throws for a failing handler (syntax errors, exceptions,
 * timeouts, crashes are all `error`); throws SessionError('INVALID_REQUEST') for a bad request.
 */
export async function runHandler(
  handle: SandboxHandle,
  req: HandlerRequest,
  opts: HandlerOptions = {},
): Promise<HandlerResult> {
  if (req.language !== 'python' && req.language !== 'javascript') {
    throw new SessionError(
      'INVALID_REQUEST',
      `language must be 'python' or 'javascript', got ${JSON.stringify(req.language)}`,
    );
  }
  if (typeof req.code !== 'string')
    throw new SessionError('INVALID_REQUEST', 'code must be a string');
  const timeoutMs = req.timeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new SessionError(
      'INVALID_REQUEST',
      `timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`,
    );
  }
  const eventText = encodeEvent(req.event);
  if (opts.signal?.aborted) {
    return {
      result: null,
      stdout: '',
      stderr: '',
      error: CANCELED,
      durationMs: 0,
      truncated: false,
    };
  }
  const maxResultBytes = opts.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
  const spec = handle.spec;

  const dir = await fsp.mkdtemp(
    path.join(opts.runtimeDir ?? defaultRuntimeDir(), 'cordon-handler-'),
  );
  let leaf: ExecCgroup | null = null;
  try {
    // root:<sandbox gid> 0750: readable by the sandbox, not by other host users; read-only inside.
    await fsp.chown(dir, 0, spec.gid);
    await fsp.chmod(dir, 0o750);
    const [harnessName, harness, codeName] =
      req.language === 'python'
        ? ['harness.py', HARNESS_PY, 'handler.py']
        : ['harness.mjs', HARNESS_JS, 'handler.js'];
    await fsp.writeFile(path.join(dir, harnessName), harness, { mode: 0o644 });
    await fsp.writeFile(path.join(dir, codeName), req.code, { mode: 0o644 });
    await fsp.writeFile(path.join(dir, 'event.json'), eventText, { mode: 0o644 });

    leaf = await handle.cgroup.createExec(`handler-${randomBytes(4).toString('hex')}`);
    const started = performance.now();
    const proc = spawnSandboxProcess(
      handle,
      { argv: argvFor(req.language, opts) },
      {
        leaf,
        binds: [{ hostPath: dir, sandboxPath: HANDLER_DIR, readOnly: true }],
        extraFds: 1,
        stdin: 'ignore',
      },
    );
    const mux = new OutputMux(
      { stdout: proc.stdout, stderr: proc.stderr },
      { capBytes: opts.outputBytes ?? spec.limits.outputBytes },
    );
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    const collecting = (async () => {
      for await (const chunk of mux) (chunk.stream === 'stdout' ? out : err).push(chunk.data);
    })();
    const resultDoc = readCapped(proc.extra[0] as Readable, maxResultBytes);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve) => {
        proc.child.once('exit', (code, signal) => resolve({ code, signal }));
        proc.child.once('error', () => resolve({ code: null, signal: null }));
      },
    );

    const kill: {
      timedOut: boolean;
      canceled: boolean;
      terminating: Promise<void> | null;
    } = { timedOut: false, canceled: false, terminating: null };
    const currentLeaf = leaf;
    // The first of timeout and cancel decides the outcome; the kill is started once.
    const stop = (why: 'timedOut' | 'canceled'): void => {
      if (kill.terminating) return;
      kill[why] = true;
      kill.terminating = terminate(
        currentLeaf,
        proc.child.pid,
        exited,
        opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
      );
    };
    const timer = setTimeout(() => stop('timedOut'), timeoutMs);
    const onAbort = (): void => stop('canceled');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    const exit = await exited;
    const durationMs = performance.now() - started;
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    if (kill.terminating) await kill.terminating;
    // Whatever the handler left behind (and anything holding the channels open) goes now.
    await killSandbox(leaf, undefined, exited);
    const stats = await leaf.stats();
    await collecting;
    const doc = await resultDoc;
    const decoded = decodeExit(exit.code, exit.signal);
    const outcome = decideOutcome(doc.text, {
      canceled: kill.canceled,
      timedOut: kill.timedOut,
      timeoutMs,
      oomKilled: stats.oomKills > 0,
      exitCode: decoded.exitCode,
      signal: decoded.signal,
      resultTooLarge: doc.overflow,
      maxResultBytes,
    });
    return {
      result: outcome.ok ? outcome.result : null,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
      error: outcome.ok ? null : outcome.error,
      durationMs,
      truncated: mux.counts.truncated,
    };
  } finally {
    await leaf?.remove().catch(() => undefined);
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
