/**
 * Polls `condition` until it holds, and fails naming `label` if it never does. Bounded by a count
 * of polls rather than a Date.now() deadline, so a test that fakes Date (vi.useFakeTimers) still
 * ends; the integration tests' waitFor (server-clients.ts) is the same wait with a deadline.
 */
export async function until(condition: () => boolean, label: string, { polls = 500, everyMs = 10 } = {}): Promise<void> {
  for (let i = 0; i < polls; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  if (!condition()) throw new Error(`still waiting, after ${polls} polls ${everyMs} ms apart, for: ${label}`);
}
