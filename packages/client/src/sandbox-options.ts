import { PolicyError as PolicyCompileError, parseRuleSpec, type Rule } from '@cordon/policy';
import type { SandboxCreateInput } from '@cordon/protocol';
import { PolicyError } from './errors.ts';
import type { ExecOptions, SandboxOptions } from './types.ts';

/** The `sandboxes.create` input for these options (codebase added by the caller). */
export function createInputOf(o: SandboxOptions, codebaseId?: string): SandboxCreateInput {
  const rules: Rule[] = (o.rules ?? []).map((r, i) => {
    if (typeof r !== 'string') return r;
    try {
      return parseRuleSpec(r);
    } catch (err) {
      if (!(err instanceof PolicyCompileError)) throw err;
      const issues = err.issues.map((x) => ({ path: `rules.${i}`, message: x.message }));
      throw new PolicyError('BAD_REQUEST', `rules[${i}] ${JSON.stringify(r)}: ${err.message}`, {
        issues,
      });
    }
  });
  const preset = o.preset ?? (rules.length === 0 ? 'agent-safe' : undefined);
  return {
    ...(codebaseId === undefined ? {} : { codebaseId }),
    ...(rules.length > 0 ? { policy: { rules, ...(preset ? { preset } : {}) } } : { preset }),
    ...(o.limits ? { limits: { ...o.limits } } : {}),
    network: o.network ?? 'none',
    strict: o.strict ?? false,
    idleTimeoutMs: o.idleTimeoutMs ?? null,
    ...(o.commit === undefined ? {} : { commit: o.commit }),
    ...(o.commitMode === undefined ? {} : { commitMode: o.commitMode }),
    ...(o.quotaBytes === undefined ? {} : { quotaBytes: o.quotaBytes }),
  };
}

/** The `sandboxes.exec` input for an argv and its options. */
export function execInputOf(sandboxId: string, argv: readonly string[], o: ExecOptions = {}) {
  const limits = {
    ...(o.limits ?? {}),
    ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
  };
  return {
    sandboxId,
    argv: [...argv],
    ...(o.cwd === undefined ? {} : { cwd: o.cwd }),
    ...(o.env === undefined ? {} : { env: { ...o.env } }),
    ...(o.stdin === undefined ? {} : { stdin: o.stdin }),
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  };
}

/** A shell command line → argv (`sh -c`); an argv is taken as is. */
export function argvOf(cmd: string | readonly string[]): string[] {
  return typeof cmd === 'string' ? ['/bin/sh', '-c', cmd] : [...cmd];
}
