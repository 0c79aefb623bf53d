import { z } from 'zod';
import { LimitsSchema } from './limits.ts';

/** The exec request as the node receives it: validated by the gateway, limits already merged. */
export const ExecRequestWireSchema = z.strictObject({
  argv: z.array(z.string()).min(1),
  cwd: z.string().startsWith('/'),
  env: z.record(z.string(), z.string()),
  stdin: z.string().nullable(),
  limits: LimitsSchema,
});
export type ExecRequestWire = z.output<typeof ExecRequestWireSchema>;
