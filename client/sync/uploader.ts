import { monotonicClock, type Timers } from './timers';
import { PostEventsResponse, WatermarksResponse, type EventResult, type StoredAbove, type Watermarks } from '../../shared/protocol/rest-events';
import { isVersionRefusal, withProtocolVersion } from '../../shared/protocol/protocol-version';

/**
 * Sends one batch to `POST /api/events` (or asks the server's clock) and classifies the
 * outcome. No retry policy here: the SyncManager decides what each outcome means for
 * backoff, batch size and quarantine.
 */
export type UploadOutcome =
  | ({ kind: 'stored'; results: EventResult[]; watermarks: Watermarks; storedAbove: StoredAbove; serverTime: number } & Timing)
  /** The batch is above the server's limits, or a proxy's (413): smaller batches will go. */
  | { kind: 'tooLarge'; message: string }
  /**
   * A 400 or 422 for the whole batch. Our server answers each event's problems inside a 200,
   * so this is a proxy's or a bug's, possibly over one event's body: smaller batches may go.
   */
  | { kind: 'refused'; status: number; message: string }
  /** The token is missing, expired or not allowed (401/403): retrying cannot help. */
  | { kind: 'unauthorized'; status: number; message: string }
  | { kind: 'failed'; cause: FailureCause; message: string };

/** `version`: the server does not speak this build's protocol (an update is due; it comes by the offline shell). */
export type FailureCause = 'network' | 'timeout' | 'server' | 'bad_response' | 'version';

/** When the answer came (wall clock) and the round trip (monotonic clock: a wall clock set meanwhile does not skew it). */
export interface Timing {
  receivedAt: number;
  latencyMs: number;
}

export interface UploaderOptions {
  apiBase: string;
  token: () => string;
  timers: Timers;
  fetch?: typeof fetch;
}

/** The server's clock, asked with nothing to upload (`GET /api/watermarks`). */
export type ProbeOutcome =
  | ({ kind: 'answered'; serverTime: number; watermarks: Watermarks; storedAbove: StoredAbove } & Timing)
  | { kind: 'unauthorized'; status: number; message: string }
  | { kind: 'failed'; cause: FailureCause; message: string };

type Answer = { kind: 'answer'; status: number; text: string } & Timing;

export class OutboxUploader {
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: UploaderOptions) {
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  async upload(body: string, timeoutMs: number): Promise<UploadOutcome> {
    const answer = await this.request('/api/events', { method: 'POST', body }, timeoutMs);
    if (answer.kind !== 'answer') return answer;
    const { status, text } = answer;
    if (isRefusedToken(status, text)) return { kind: 'unauthorized', status, message: serverMessage(text) };
    if (status === 413) return { kind: 'tooLarge', message: text };
    // Not this batch's fault: no smaller batch goes, and no event is to quarantine.
    if (status === 400 && isVersionRefusal(text)) return { kind: 'failed', cause: 'version', message: serverMessage(text) };
    // A 401 or 403 that is not our server's (a firewall's page): the batch refused, not the token.
    if (status === 400 || status === 422 || status === 401 || status === 403) return { kind: 'refused', status, message: `HTTP ${status}: ${text.slice(0, 200)}` };
    if (status < 200 || status > 299) return { kind: 'failed', cause: 'server', message: `HTTP ${status}` };
    const parsed = parseJson(text, PostEventsResponse);
    if (!parsed.success) return { kind: 'failed', cause: 'bad_response', message: parsed.message };
    return { kind: 'stored', ...parsed.data, receivedAt: answer.receivedAt, latencyMs: answer.latencyMs };
  }

  async probe(timeoutMs: number): Promise<ProbeOutcome> {
    const answer = await this.request('/api/watermarks', { method: 'GET' }, timeoutMs);
    if (answer.kind !== 'answer') return answer;
    const { status, text } = answer;
    if (isRefusedToken(status, text)) return { kind: 'unauthorized', status, message: serverMessage(text) };
    if (status === 400 && isVersionRefusal(text)) return { kind: 'failed', cause: 'version', message: serverMessage(text) };
    if (status < 200 || status > 299) return { kind: 'failed', cause: 'server', message: `HTTP ${status}` };
    const parsed = parseJson(text, WatermarksResponse);
    if (!parsed.success) return { kind: 'failed', cause: 'bad_response', message: parsed.message };
    const { serverTime, watermarks, storedAbove } = parsed.data;
    return { kind: 'answered', serverTime, watermarks, storedAbove, receivedAt: answer.receivedAt, latencyMs: answer.latencyMs };
  }

  /** One request with the token and a timeout: the answer's status and body, or why there is none. */
  private async request(path: string, init: { method: string; body?: string }, timeoutMs: number): Promise<Answer | { kind: 'failed'; cause: FailureCause; message: string }> {
    const controller = new AbortController();
    const { timers } = this.options;
    const timer = timers.setTimeout(() => controller.abort(), timeoutMs);
    const elapsed = monotonicClock(timers);
    const sentAt = elapsed();
    const headers = withProtocolVersion({ authorization: `Bearer ${this.options.token()}` });
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await this.fetchImpl(`${this.options.apiBase}${path}`, { ...init, headers, signal: controller.signal });
      const text = await res.text();
      return { kind: 'answer', status: res.status, text, receivedAt: timers.now(), latencyMs: elapsed() - sentAt };
    } catch (err) {
      const timedOut = controller.signal.aborted;
      return { kind: 'failed', cause: timedOut ? 'timeout' : 'network', message: timedOut ? `no answer in ${timeoutMs} ms` : describe(err) };
    } finally {
      timers.clearTimeout(timer);
    }
  }
}

function parseJson<T>(text: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } } }): { success: true; data: T } | { success: false; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { success: false, message: describe(err) };
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed : { success: false, message: parsed.error.message };
}

/** The human part of the server's error answer (`{ error, message }`), else the text itself. */
/**
 * A 401 or 403 of our server (its error JSON: `{ error, message, serverTime }`): this token is
 * refused, re-pair. One that is not (a firewall blocking a note that looks like SQL, a proxy's
 * login page) says nothing of the token: taken as such, it stopped every upload and told staff
 * to re-pair, for good.
 */
function isRefusedToken(status: number, text: string): boolean {
  if (status !== 401 && status !== 403) return false;
  try {
    const body = JSON.parse(text) as { error?: unknown; serverTime?: unknown };
    return typeof body.error === 'string' && typeof body.serverTime === 'number';
  } catch {
    return false;
  }
}

function serverMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === 'string' && body.message.length > 0) return body.message;
  } catch {
    // not JSON: a proxy's page
  }
  return text.slice(0, 200);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
