import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import type { ErrorCode, ErrorResponse } from '../../shared/protocol/rest-errors';

/** A typed HTTP failure; the error handler turns it into an ErrorResponse body. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly extra: Pick<ErrorResponse, 'field' | 'issues'> = {},
  ) {
    super(message);
  }
}

export function sendError(reply: FastifyReply, err: HttpError, now: number): FastifyReply {
  const body: ErrorResponse = { error: err.code, message: err.message, ...err.extra, serverTime: now };
  return reply.code(err.status).type('application/json').send(body);
}

/** `value` parsed by `schema`, or a 400 naming the first offending field (`whole` when the value itself is wrong). */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, whole: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join('.') || whole;
  throw new HttpError(400, 'badRequest', `${field}: ${issue?.message ?? 'invalid'}`, { field });
}
