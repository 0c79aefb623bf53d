import { TRPCClientError } from '@trpc/client';
import type { ErrorCode } from '@cordon/protocol';
import { expect } from 'vitest';

interface ErrorShapeData {
  cordonCode?: ErrorCode;
  issues?: { path: string; message: string }[];
  stack?: unknown;
}

/** Awaits a rejected call and returns its error data after checking the Cordon code. */
export async function expectCode(
  p: Promise<unknown>,
  code: ErrorCode,
): Promise<{
  message: string;
  data: ErrorShapeData;
}> {
  const err: unknown = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}, call succeeded`).toBeInstanceOf(TRPCClientError);
  const e = err as TRPCClientError<never> & { data?: ErrorShapeData };
  const data = (e.data ?? {}) as ErrorShapeData;
  expect(data.cordonCode, e.message).toBe(code);
  expect(data.stack).toBeUndefined();
  return { message: e.message, data };
}
