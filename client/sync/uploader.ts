import type { Timers } from './timers';
import { PostEventsResponse, type EventResult, type Watermarks } from '../../shared/protocol/rest-events';

/**
 * Sends one batch to `POST /api/events` and classifies the outcome. No retry policy here:
 * the SyncManager decides what each outcome means for backoff, batch size and quarantine.
 */
export type UploadOutcome =
  | { kind: 'stored'; results: EventResult[]; watermarks: Watermarks; serverTime: number; sentAt: number; receivedAt: number }
  /** The batch is above the server's limits (413): smaller batches will go. */
  | { kind: 'tooLarge'; message: string }
  /** The token is missing, expired or not allowed (401/403): retrying cannot help. */
  | { kind: 'unauthorized'; status: number; message: string }
  | { kind: 'failed'; cause: FailureCause; message: string };

/**
 * `refused`: a 400 or 422 for the whole batch. Our server answers each event's problems inside
 * a 200, so this comes from a proxy or a bug, never from one event: retried with backoff,
 * nothing quarantined (a proxy's bad minute must not set valid sales aside).
 */
export type FailureCause = 'network' | 'timeout' | 'server' | 'refused' | 'bad_response';

export interface UploaderOptions {
  apiBase: string;
  token: () => string;
  timers: Timers;
  fetch?: typeof fetch;
}

export class OutboxUploader {
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: UploaderOptions) {
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  async upload(body: string, timeoutMs: number): Promise<UploadOutcome> {
    const controller = new AbortController();
    const { timers } = this.options;
    const timer = timers.setTimeout(() => controller.abort(), timeoutMs);
    const sentAt = timers.now();
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.options.apiBase}/api/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.options.token()}` },
        body,
        signal: controller.signal,
      });
    } catch (err) {
      timers.clearTimeout(timer);
      const timedOut = controller.signal.aborted;
      return { kind: 'failed', cause: timedOut ? 'timeout' : 'network', message: timedOut ? `no answer in ${timeoutMs} ms` : describe(err) };
    }
    try {
      const text = await res.text();
      const receivedAt = timers.now();
      if (res.status === 401 || res.status === 403) return { kind: 'unauthorized', status: res.status, message: text };
      if (res.status === 413) return { kind: 'tooLarge', message: text };
      if (res.status === 400 || res.status === 422) return { kind: 'failed', cause: 'refused', message: `HTTP ${res.status}: ${text.slice(0, 200)}` };
      if (!res.ok) return { kind: 'failed', cause: 'server', message: `HTTP ${res.status}` };
      const parsed = PostEventsResponse.safeParse(JSON.parse(text));
      if (!parsed.success) return { kind: 'failed', cause: 'bad_response', message: parsed.error.message };
      return { kind: 'stored', ...parsed.data, sentAt, receivedAt };
    } catch (err) {
      const timedOut = controller.signal.aborted;
      return { kind: 'failed', cause: timedOut ? 'timeout' : 'bad_response', message: describe(err) };
    } finally {
      timers.clearTimeout(timer);
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
