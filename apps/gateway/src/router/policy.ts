import { compilePolicy, PolicyError, type Policy } from '@cordon/policy';
import { PolicyExplainInputSchema, PolicyValidateInputSchema } from '@cordon/protocol';
import { badRequest } from '../errors.ts';
import { policyIssues } from '../format-error.ts';
import { authedProcedure, router } from '../trpc.ts';

/** Compiles untrusted policy input; a PolicyError becomes BAD_REQUEST naming rule and field. */
export function compileOrBadRequest(input: unknown, field = 'policy'): Policy {
  try {
    return compilePolicy(input);
  } catch (err) {
    if (err instanceof PolicyError) throw badRequest(policyIssues(err, field));
    throw err;
  }
}

export const policyRouter = router({
  /** Never throws for a bad policy: answers `{ valid: false, issues }` so editors can show them. */
  validate: authedProcedure.input(PolicyValidateInputSchema).query(({ input }) => {
    try {
      const p = compilePolicy(input.policy);
      return { valid: true as const, hash: p.hash, rules: p.canonical.rules.length, issues: [] };
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      return { valid: false as const, hash: null, rules: 0, issues: policyIssues(err, 'policy') };
    }
  }),
  explain: authedProcedure.input(PolicyExplainInputSchema).query(({ input }) => {
    const p = compileOrBadRequest(input.policy);
    return input.paths.map((path, i) => {
      try {
        const e = p.explain(path);
        return { path, level: e.level, rule: e.rule, index: e.index };
      } catch (err) {
        if (err instanceof PolicyError) throw badRequest(policyIssues(err, `paths.${i}`));
        throw err;
      }
    });
  }),
});
