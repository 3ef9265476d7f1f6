import type { FastifyBodyParser, FastifyInstance } from 'fastify';
import { HttpError } from './http-error';

/** Deepest nesting of arrays and objects a JSON body may have; an event batch needs under ten. */
export const MAX_JSON_DEPTH = 64;

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

/** Whether `json` nests arrays or objects deeper than `max`: one pass, jumping over strings. */
export function nestsDeeperThan(json: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) i = closingQuote(json, i);
    else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) depth--;
  }
  return false;
}

/** The index of the quote closing the string opened at `open` (the end when unclosed). */
function closingQuote(json: string, open: number): number {
  let at = json.indexOf('"', open + 1);
  while (at !== -1) {
    let backslashes = 0;
    while (json.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
    at = json.indexOf('"', at + 1);
  }
  return json.length;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
