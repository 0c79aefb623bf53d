import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { describeError, logInternalErrors, zodIssues } from '../src/format-error.ts';

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

describe('internal errors reach the operator, not the client', () => {
  function captured() {
    const lines: Record<string, unknown>[] = [];
    const log = pino(
      { level: 'info' },
      { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) },
    );
    return { log, lines };
  }

  it('logs an INTERNAL error with its cause, also when there is no context', () => {
    const { log, lines } = captured();
    const cause = new Error('ECONNREFUSED 127.0.0.1:6379');
    logInternalErrors(log)({
      error: new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause }),
      path: 'sandboxes.list',
      type: 'query',
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'internal error', path: 'sandboxes.list' });
    expect(JSON.stringify(lines[0])).toContain('ECONNREFUSED');
    // …while the client sees a fixed message without the cause.
    expect(
      describeError(new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause })).message,
    ).not.toContain('ECONNREFUSED');
  });

  it('does not log client mistakes', () => {
    const { log, lines } = captured();
    const onError = logInternalErrors(log);
    onError({ error: new TRPCError({ code: 'BAD_REQUEST' }), path: 'x', type: 'query' });
    onError({ error: new TRPCError({ code: 'NOT_FOUND' }), path: 'x', type: 'query' });
    expect(lines).toEqual([]);
  });
});
