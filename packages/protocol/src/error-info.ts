import { z } from 'zod';
import { ERROR_CODES } from './errors.ts';

/** An error as stored in state and sent over the wire: a closed code plus a how-to-fix message. */
export const ErrorInfoSchema = z.strictObject({
  code: z.enum(ERROR_CODES),
  message: z.string().max(4096),
});
export type ErrorInfo = z.output<typeof ErrorInfoSchema>;
