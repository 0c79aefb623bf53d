import { z } from 'zod';

export const MAX_EXPLAIN_PATHS = 1000;

/** `policy.validate`: the policy is checked by @cordon/policy, which names rule index and field. */
export const PolicyValidateInputSchema = z.strictObject({ policy: z.unknown() });

export const PolicyExplainInputSchema = z.strictObject({
  policy: z.unknown(),
  paths: z
    .array(z.string().min(1).max(4096))
    .min(1, 'paths is empty; give codebase-relative paths like /src/a.ts')
    .max(MAX_EXPLAIN_PATHS, `at most ${MAX_EXPLAIN_PATHS} paths per call`),
});
