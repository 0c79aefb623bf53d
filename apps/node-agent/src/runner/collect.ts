import type { ExecResult, RunningExec } from './exec-types.ts';

/** Runs to completion, collecting output (bounded by the cap) — for tests and simple callers. */
export async function collect(
  exec: RunningExec,
): Promise<{ result: ExecResult; stdout: string; stderr: string }> {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  for await (const chunk of exec) (chunk.stream === 'stdout' ? out : err).push(chunk.data);
  const result = await exec.result;
  return {
    result,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
  };
}
