export type PolicyErrorCode =
  'INVALID_POLICY' | 'INVALID_PATH' | 'UNKNOWN_PRESET' | 'INVALID_RULE_SPEC';

/** One problem in a policy, located precisely enough to fix it. */
export interface PolicyIssue {
  /** Index of the offending rule in the input's `rules`, when the problem is in a rule. */
  readonly index?: number;
  /** The field at fault, e.g. `pattern`, `permission`, `priority`, `rules`, `preset`. */
  readonly field?: string;
  readonly message: string;
}

/** The policy layer's only error type. Callers branch on `code`, never on `message`. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  readonly code: PolicyErrorCode;
  readonly issues: readonly PolicyIssue[];

  constructor(code: PolicyErrorCode, issues: readonly PolicyIssue[]) {
    super(formatIssues(issues));
    this.code = code;
    this.issues = issues;
  }
}

function formatIssues(issues: readonly PolicyIssue[]): string {
  return issues
    .map((i) => {
      const where =
        i.index !== undefined
          ? `rules[${i.index}]${i.field ? `.${i.field}` : ''}: `
          : i.field
            ? `${i.field}: `
            : '';
      return where + i.message;
    })
    .join('; ');
}
