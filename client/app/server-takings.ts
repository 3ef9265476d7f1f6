import { TakingsResponse } from '../../shared/protocol/rest-reports';
import type { DayWindow } from '../../shared/reports/day-takings';
import type { ManagerApi } from './manager-api';

/**
 * The server's takings of a window (GET /api/reports/takings): the report over the canonical
 * log, to compare with this device's.
 */
export class ServerTakings {
  constructor(private readonly api: ManagerApi) {}

  /** The server's report; ServerUnreachable without an answer, an error with the server's message for a refusal. */
  async of(window: DayWindow): Promise<TakingsResponse> {
    return TakingsResponse.parse(await this.api.get('/api/reports/takings', { from: String(window.from), to: String(window.to) }));
  }
}
