import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { describeError, zodIssues } from '../src/format-error.ts';

function badRequest(schema: z.ZodType, input: unknown): TRPCError {
  const r = schema.safeParse(input);
  if (r.success) throw new Error('expected the input to be refused');
  return new TRPCError({ code: 'BAD_REQUEST', cause: r.error });
}

describe('zod issues for clients', () => {
  it('names unknown keys at the top level in the issue path and the message', () => {
    const err = badRequest(z.strictObject({ execId: z.string() }), {
      execId: 'ex_1',
      bogus: 1,
      other: true,
    });
    const { message, data } = describeError(err);
    expect(data.cordonCode).toBe('BAD_REQUEST');
    expect(data.issues.map((i) => i.path).sort()).toEqual(['bogus', 'other']);
    expect(message).toContain('bogus');
    expect(message).toContain('other');
  });

  it('names nested unknown keys with their full path', () => {
    const schema = z.strictObject({ limits: z.strictObject({ timeoutMs: z.number() }) });
    const { data } = describeError(badRequest(schema, { limits: { timeoutMs: 1, memory: 2 } }));
    expect(data.issues.map((i) => i.path)).toEqual(['limits.memory']);
  });

  it('keeps ordinary issues as they are', () => {
    expect(zodIssues([{ path: ['argv', 0], message: 'Too small', code: 'too_small' }])).toEqual([
      { path: 'argv.0', message: 'Too small' },
    ]);
  });
});
