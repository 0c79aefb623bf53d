import { randomBytes } from 'node:crypto';

/** `cb_…` codebases, `ss_…` sessions: 80 random bits, unguessable across tenants. */
export function newStateId(prefix: 'cb' | 'ss'): string {
  return `${prefix}_${randomBytes(10).toString('hex')}`;
}
