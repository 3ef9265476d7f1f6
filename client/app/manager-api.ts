import { withProtocolVersion } from '../../shared/protocol/protocol-version';

export interface ManagerApiOptions {
  apiBase: string;
  /** The device's token now (it is renewed). */
  token: () => string;
  fetch?: typeof fetch;
}

/** No answer at all (offline, the server down, timed out): not a refusal. */
export class ServerUnreachable extends Error {
  override readonly name = 'ServerUnreachable';
}

/**
 * The server's REST API as a manager's device calls it, with the device's own token: the
 * server decides who may do what. Used by the console's Devices panel (DeviceAdmin) and the
 * Takings screen (ServerTakings).
 */
export class ManagerApi {
  constructor(private readonly options: ManagerApiOptions) {}

  get(path: string, query: Record<string, string>): Promise<unknown> {
    return this.send(`${path}?${new URLSearchParams(query).toString()}`, { method: 'GET' });
  }

  post(path: string, body: object): Promise<unknown> {
    return this.send(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  /** The answer's body; ServerUnreachable without an answer; an error with the server's message (naming the field) for a refusal. */
  private async send(path: string, init: { method: string; headers?: Record<string, string>; body?: string }): Promise<unknown> {
    const fetchImpl = this.options.fetch ?? fetch;
    let res: Response;
    try {
      res = await fetchImpl(`${this.options.apiBase}${path}`, {
        ...init,
        headers: withProtocolVersion({ ...init.headers, authorization: `Bearer ${this.options.token()}` }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new ServerUnreachable(err instanceof Error ? err.message : String(err));
    }
    const answer = (await res.json().catch(() => null)) as { message?: unknown } | null;
    if (!res.ok) throw new Error(typeof answer?.message === 'string' ? answer.message : `HTTP ${res.status}`);
    return answer;
  }
}
