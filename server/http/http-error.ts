import type { FastifyReply } from 'fastify';
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
