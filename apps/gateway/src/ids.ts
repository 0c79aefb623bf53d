import { randomBytes } from 'node:crypto';

/** `sb_…` / `ex_…`: 80 random bits, unguessable across tenants. */
export function newId(prefix: 'sb' | 'ex'): string {
  return `${prefix}_${randomBytes(10).toString('hex')}`;
}
