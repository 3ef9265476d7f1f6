import type { FastifyBodyParser, FastifyInstance } from 'fastify';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../shared/json-depth';
import { HttpError } from './http-error';


/**
 * `parse` behind a depth check: JSON.parse of a body nested a million levels deep holds the
 * event loop for half a second, one linear pass over its characters for milliseconds.
 */
export function depthBounded(parse: FastifyBodyParser<string>): FastifyBodyParser<string> {
  return (request, body, done) => {
    if (nestsDeeperThan(body, MAX_JSON_DEPTH)) {
      done(new HttpError(400, 'badRequest', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`, { field: 'body' }), undefined);
      return;
    }
    return parse(request, body, done);
  };
}

/** Replaces `app`'s JSON parser with `parse`, behind the depth check. */
export function useJsonParser(app: FastifyInstance, parse: FastifyBodyParser<string>): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, depthBounded(parse));
}
