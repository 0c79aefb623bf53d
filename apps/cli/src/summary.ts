import type { ExecResult } from '@cordon/client';

/** The one summary line `cordon run` / `cordon exec` print to stderr after the command. */
export function summaryLine(r: ExecResult, pulled?: { written: number; deleted: number }): string {
  const parts: string[] = [];
  if (r.timedOut) parts.push('timed out');
  else if (r.canceled) parts.push('canceled');
  else if (r.exitCode === null) parts.push(`killed by ${r.signal ?? 'a signal'}`);
  else parts.push(`exit ${r.exitCode}`);
  if (r.oomKilled) parts.push('out of memory');
  const c = r.commit;
  if (c?.error) parts.push(`commit failed: ${c.error}`);
  else if (c && (c.added || c.modified || c.deleted)) {
    const conflicts = c.conflicts ? `, ${c.conflicts} conflict${c.conflicts === 1 ? '' : 's'}` : '';
    parts.push(
      `committed ${c.added} added, ${c.modified} modified, ${c.deleted} deleted${conflicts}`,
    );
  } else parts.push('no changes');
  if (pulled && (pulled.written || pulled.deleted)) {
    parts.push(`pulled ${pulled.written} written, ${pulled.deleted} deleted`);
  }
  const d = r.denials;
  if (d.count > 0) {
    const paths = [...new Set(d.sample.map((x) => x.path))].slice(0, 3);
    const more = d.count > paths.length ? ', …' : '';
    parts.push(`${d.count} denied access${d.count === 1 ? '' : 'es'} (${paths.join(', ')}${more})`);
  } else parts.push('no denials');
  if (r.truncated) parts.push('output truncated');
  return `cordon: ${parts.join(' · ')}`;
}

const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGTERM: 15,
  SIGSEGV: 11,
  SIGABRT: 6,
  SIGPIPE: 13,
};

/** The exit code a shell would report: the command's code, 124 on timeout, 128+N for signal N. */
export function exitCodeOf(r: ExecResult): number {
  if (r.timedOut) return 124;
  if (r.exitCode !== null) return r.exitCode;
  if (r.canceled) return 130;
  return 128 + (SIGNALS[r.signal ?? ''] ?? 9);
}
