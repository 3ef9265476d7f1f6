import { z } from 'zod';

/**
 * The body of every non-2xx REST answer. `code` is stable and typed; `message` is for humans;
 * `field` names the offending field when there is one.
 */
export const ErrorCode = z.enum([
  'badRequest',
  'invalidBatch',
  'payloadTooLarge',
  'unauthorized',
  'tokenExpired',
  'tokenRevoked',
  'forbidden',
  'notFound',
  'cursorAhead',
  'clientTooOld',
  'serverTooOld',
  'internalError',
  'shuttingDown',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorResponse = z.object({
  error: ErrorCode,
  message: z.string(),
  field: z.string().optional(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  serverTime: z.number(),
});
export type ErrorResponse = z.infer<typeof ErrorResponse>;
