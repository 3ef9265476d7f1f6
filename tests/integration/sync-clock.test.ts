import { afterEach, describe, expect, it } from 'vitest';
import type { TicketView } from '../../shared/projection/views';
import { startTestServer, type InProcessServer } from '../helpers/server-in-process';
import { countingPosts, mint, waitFor, waitForAsync } from '../helpers/server-clients';
import { arriveFrom } from '../helpers/other-builds';
import { openTerminal, startTerminal, type TestTerminal } from '../helpers/terminals';

let server: InProcessServer | null = null;
const terminals: TestTerminal[] = [];
afterEach(async () => {
  for (const t of terminals.splice(0)) t.close();
  await server?.dispose();
  server = null;
});

const MINUTE = 60_000;
const ticket = { aggregate: { id: 't1', type: 'ticket' } };
const noteOf = (t: TestTerminal) => (t.store.view('t1') as TicketView | undefined)?.note ?? null;

async function serverNote(location: string): Promise<string | null> {
  const token = await mint(location, 'manager', 'inspector');
  const res = await fetch(`${server!.url}/api/aggregates/ticket/t1`, { headers: { authorization: `Bearer ${token}` } });
  return res.ok ? ((await res.json()) as { state: TicketView }).state.note : null;
}

describe('Clock skew', () => {
  it('[SYN8] terminals 10 minutes apart: the note a person wrote last, having seen the other, wins everywhere', async () => {
    server = await startTestServer();
    const base = { location: 'skew', apiBase: server.url, syncEndpoint: server.wsUrl };
    const a = await startTerminal({ ...base, terminal: 'till-1' });
    const b = await startTerminal({ ...base, terminal: 'till-2', skewMs: -10 * MINUTE });
    terminals.push(a, b);

    await a.store.append('ticket.opened', { number: 'A-001' }, ticket);
    await a.store.append('ticket.note_set', { note: 'window seat' }, ticket);
    await waitFor(() => noteOf(b) === 'window seat', 'b sees a\'s note');
    // b's wall clock is 10 minutes behind, yet its change after seeing a's wins.
    await b.store.append('ticket.note_set', { note: 'by the door' }, ticket);
    await waitFor(() => noteOf(a) === 'by the door', 'a follows b');
    await a.store.append('ticket.note_set', { note: 'booth 3' }, ticket);
    await waitFor(() => noteOf(b) === 'booth 3', 'b follows a');
    await waitForAsync(async () => (await serverNote('skew')) === 'booth 3', 'the server agrees');

    // After one upload, b knows its offset to the server and stamps near server time.
    await b.sync.syncNow();
    expect(Math.abs(b.sync.status.clockOffsetMs! - 10 * MINUTE)).toBeLessThan(2_000);
    const stamped = await b.store.append('ticket.note_set', { note: 'booth 4' }, ticket);
    expect(Math.abs(stamped.at - Date.now())).toBeLessThan(2_000);
    await waitFor(() => b.sync.status.terminals.some((t) => t.terminal === 'till-2' && t.clockOffsetMs !== null), 'offset published');
  });

  it('[SYN8] a till whose sales all go through the relay (it posts nothing) still learns the server\'s time', async () => {
    server = await startTestServer();
    const uploads = countingPosts();
    const b = await startTerminal({
      location: 'probe',
      terminal: 'till-2',
      apiBase: server.url,
      syncEndpoint: server.wsUrl,
      skewMs: -10 * MINUTE,
      sync: {
        fetch: uploads.fetch,
      },
    });
    terminals.push(b);
    await waitFor(() => b.sync.status.clockOffsetMs !== null && b.sync.relayInStep, 'the offset measured, the relay in step');
    expect(Math.abs(b.sync.status.clockOffsetMs! - 10 * MINUTE)).toBeLessThan(2_000);
    await b.store.append('ticket.opened', { number: 'B-001' }, ticket);
    await waitFor(() => b.sync.status.owed === 0, 'acknowledged through the relay');
    const stamped = await b.store.append('ticket.note_set', { note: 'window seat' }, ticket);
    expect(Math.abs(stamped.at - Date.now())).toBeLessThan(2_000);
    expect(uploads.posts()).toBe(0);
  });

  it('[SYN10] an event stamped far ahead of server time is flagged for review and does not drag other clocks', async () => {
    server = await startTestServer();
    const base = { location: 'ahead', apiBase: server.url, syncEndpoint: server.wsUrl };
    const a = await startTerminal({ ...base, terminal: 'till-1' });
    // c reaches only the relay (its HTTP requests fail), so it never learns the server's time.
    const c = await startTerminal({ ...base, terminal: 'till-9', skewMs: 20 * MINUTE, sync: { fetch: () => Promise.reject(new TypeError('blocked')) } });
    terminals.push(a, c);
    await a.store.append('ticket.opened', { number: 'A-001' }, ticket);
    await a.sync.syncNow(); // a now knows the server's time
    expect(a.store.clock.calibrated).toBe(true);
    await waitFor(() => c.store.view('t1') !== undefined, 'c has the ticket');
    const ahead = await c.store.append('ticket.note_set', { note: 'from the future' }, ticket);
    await waitFor(() => a.store.clockSuspects.some((e) => e.id === ahead.id), 'a flags it');
    expect(a.store.clock.peek()).toBeLessThan(Date.now() + 5 * MINUTE);
  });

  it('[SYN10] an event followed far ahead before the clock was calibrated is a clock suspect once the first server answer calibrates it', async () => {
    server = await startTestServer();
    const opened = await openTerminal({ location: 'calibrated', terminal: 'till-1', apiBase: server.url, syncEndpoint: 'ws://127.0.0.1:1/sync' });
    // As when the relay's first sync lands before the server's first answer: another till's event two days ahead.
    const at = Date.now() + 48 * 60 * MINUTE;
    arriveFrom(opened, { terminal: 'till-9', n: 1, at }, { type: 'ticket.opened', v: 1, aggregate: { id: 't9', type: 'ticket' }, payload: { number: 'Z-001' } });
    expect(opened.store.clock.calibrated).toBe(false);
    const t = opened.startSync();
    terminals.push(t);
    await waitFor(() => t.sync.status.clockOffsetMs !== null && !t.sync.status.inFlight, 'the start-up probe answered');
    expect(t.store.clock.calibrated).toBe(true);
    expect(t.store.clockSuspects.map((e) => e.at)).toEqual([at]);
  });
});
