import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BATCH_EVENTS, MAX_RANGES_ABOVE, type PostEventsResponse } from '../../shared/protocol/rest-events';
import { canonicalEventJson } from '../../shared/events/envelope';
import { SegmentWriter } from '../../shared/log/log-doc';
import { startTestServer, type InProcessServer } from '../helpers/server-in-process';
import { api, connectSynced, mint, postEvents, ticketOpenedEvent, waitForAsync } from '../helpers/server-clients';

type Page = { events: { id: string }[]; next: string; hasMore: boolean; serverTime: number };

describe('REST: POST /api/events is validated, transactional and idempotent', () => {
  let server: InProcessServer;
  let token: string;
  const ALLOWED = 'http://allowed.example';

  beforeAll(async () => {
    server = await startTestServer({ corsOrigins: [ALLOWED] });
    token = await mint('loc-ev', 'terminal', 'till-1');
  });
  afterAll(async () => {
    await server.dispose();
  });

  const allEvents = async (t = token): Promise<{ id: string }[]> => {
    const out: { id: string }[] = [];
    let after = '';
    for (let i = 0; i < 100; i++) {
      const page = await api<Page>(server.url, `/api/events?after=${after}&limit=2`, t);
      expect(page.status).toBe(200);
      out.push(...page.body.events);
      after = page.body.next;
      if (!page.body.hasMore) return out;
    }
    throw new Error('paging did not end');
  };

  it('[SRV6] the same batch posted 3 times concurrently stores each event once', async () => {
    const batch = [ticketOpenedEvent('till-1', 1), ticketOpenedEvent('till-1', 2), ticketOpenedEvent('till-1', 3)];
    const answers = await Promise.all([1, 2, 3].map(() => postEvents(server.url, token, batch)));
    for (const a of answers) expect(a.status).toBe(200);
    for (const [i, e] of batch.entries()) {
      const statuses = answers.map((a) => a.body.results[i]!.status).sort();
      expect(statuses).toEqual(['accepted', 'duplicate', 'duplicate']);
      expect(answers.every((a) => a.body.results[i]!.id === e.id)).toBe(true);
    }
    const stored = await allEvents();
    expect(stored.map((e) => e.id).sort()).toEqual(batch.map((e) => e.id).sort());
    for (const a of answers) expect(a.body.watermarks['till-1']).toBe(3);
  });

  it('[SRV6][OUT8] watermarks are the highest contiguous n: 1,2,4,5 → 2 until 3 arrives → 5; storedAbove names what is above them', async () => {
    const t = await mint('loc-wm', 'terminal', 'till-7');
    const post = async (events: unknown[]) => (await postEvents(server.url, t, events)).body as PostEventsResponse;
    const [e1, e2, e3, e4, e5] = [1, 2, 3, 4, 5].map((n) => ticketOpenedEvent('till-7', n));
    const first = await post([e1, e2, e4, e5]);
    expect([first.watermarks, first.storedAbove]).toEqual([{ 'till-7': 2 }, { 'till-7': [[4, 5]] }]);
    expect((await api(server.url, '/api/watermarks', t)).body).toMatchObject({ watermarks: { 'till-7': 2 } });
    const after3 = await post([e3]);
    expect(after3.watermarks).toEqual({ 'till-7': 5 });
    // The gap filled: 4 and 5 are under the watermark, no longer above it.
    expect(after3.storedAbove).toEqual({});
    // Any terminal may upload another terminal's events, in any order; watermarks are per origin.
    const other = await post([ticketOpenedEvent('till-8', 2), ticketOpenedEvent('till-8', 1)]);
    expect([other.watermarks, other.storedAbove]).toEqual([{ 'till-7': 5, 'till-8': 2 }, {}]);
    // A writer whose first event is missing has no watermark, and is still one the location holds
    // events of (STO16: a device paired as it must write as a fresh writer).
    await post([ticketOpenedEvent('till-9', 2)]);
    expect((await api(server.url, '/api/watermarks', t)).body).toMatchObject({ watermarks: { 'till-7': 5, 'till-8': 2 }, writers: ['till-7', 'till-8', 'till-9'] });
    // Every range above a watermark, not only the lowest; the lowest MAX_RANGES_ABOVE of them.
    expect((await post([ticketOpenedEvent('till-9', 4)])).storedAbove).toEqual({ 'till-9': [[2, 2], [4, 4]] });
    const many = await post(Array.from({ length: MAX_RANGES_ABOVE }, (_, i) => ticketOpenedEvent('till-9', 2 * i + 6)));
    expect(many.storedAbove['till-9']).toEqual(Array.from({ length: MAX_RANGES_ABOVE }, (_, i) => [2 * i + 2, 2 * i + 2]));
  });

  it('same id with different content is rejected naming the field; a reused origin.n too', async () => {
    const t = await mint('loc-conflict', 'terminal', 'till-1');
    const e = ticketOpenedEvent('till-1', 1);
    expect((await postEvents(server.url, t, [e])).body.results[0]!.status).toBe('accepted');
    const changed = { ...e, payload: { ...(e.payload as object), covers: 9 } };
    const r = (await postEvents(server.url, t, [changed])).body.results[0]!;
    expect(r).toMatchObject({ id: e.id, status: 'rejected', field: 'id' });
    expect(r.reason).toMatch(/different content/);
    const sameOrigin = ticketOpenedEvent('till-1', 1);
    expect((await postEvents(server.url, t, [sameOrigin])).body.results[0]).toMatchObject({
      id: sameOrigin.id,
      status: 'rejected',
      field: 'origin.n',
    });
    const stored = await api<Page>(server.url, '/api/events', t);
    expect(stored.body.events).toHaveLength(1);
    expect(stored.body.events[0]).toMatchObject({ id: e.id, payload: { covers: 4 } });
  });

  it('[SRV6] a batch sent again (an outbox retry) is answered duplicate event by event; a changed event in it is still rejected, the rest stored', async () => {
    const t = await mint('loc-resend', 'terminal', 'till-1');
    const batch = [1, 2, 3].map((n) => ticketOpenedEvent('till-1', n));
    expect((await postEvents(server.url, t, batch)).body.results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'accepted']);
    // The same events, keys in another order, one changed, one new at the end.
    const reordered = Object.fromEntries(Object.entries(batch[0]!).reverse());
    const changed = { ...batch[1]!, payload: { ...(batch[1]!.payload as object), covers: 9 } };
    const fresh = ticketOpenedEvent('till-1', 4);
    const again = await postEvents(server.url, t, [reordered, changed, batch[2], fresh]);
    expect(again.body.results.map((r) => [r.status, r.field ?? null])).toEqual([
      ['duplicate', null],
      ['rejected', 'id'],
      ['duplicate', null],
      ['accepted', null],
    ]);
    expect(again.body.watermarks).toEqual({ 'till-1': 4 });
    expect(await allEvents(t)).toHaveLength(4);
  });

  it('[SRV7] invalid events are rejected one by one, naming event and field; valid ones in the batch are stored', async () => {
    const t = await mint('loc-bad', 'terminal', 'till-1');
    const good1 = ticketOpenedEvent('till-1', 1);
    const unknownType = ticketOpenedEvent('till-1', 2, { type: 'ticket.teleported' });
    const futureVersion = ticketOpenedEvent('till-1', 3, { v: 99 });
    const wrongType = ticketOpenedEvent('till-1', 4, { payload: { number: 'T-004', covers: 'four' } });
    const noEnvelope = { hello: 'world' };
    const good2 = ticketOpenedEvent('till-1', 5);
    const res = await postEvents(server.url, t, [good1, unknownType, futureVersion, wrongType, noEnvelope, good2]);
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { id: good1.id, status: 'accepted' },
      expect.objectContaining({ id: unknownType.id, status: 'rejected', field: 'type' }),
      expect.objectContaining({ id: futureVersion.id, status: 'rejected', field: 'v' }),
      expect.objectContaining({ id: wrongType.id, status: 'rejected', field: 'payload.covers' }),
      expect.objectContaining({ id: '#4', status: 'rejected' }),
      { id: good2.id, status: 'accepted' },
    ]);
    for (const r of res.body.results.filter((x) => x.status === 'rejected')) expect(r.reason).toBeTruthy();
    const stored = (await api<Page>(server.url, '/api/events', t)).body.events.map((e) => e.id);
    expect(stored.sort()).toEqual([good1.id, good2.id].sort());
    // Rejected n = 2,3,4 are not stored, so the watermark stops at 1.
    expect(res.body.watermarks).toEqual({ 'till-1': 1 });
  });

  it('[SRV7] an event carrying a "__proto__" or "constructor" key is rejected alone, naming it; the rest of its batch is stored and no prototype is touched', async () => {
    const t = await mint('loc-proto', 'terminal', 'till-1');
    const good1 = ticketOpenedEvent('till-1', 1);
    const inPayload = ticketOpenedEvent('till-1', 2);
    const inConstructor = ticketOpenedEvent('till-1', 3);
    const inOrigin = ticketOpenedEvent('till-1', 4);
    const good2 = ticketOpenedEvent('till-1', 5);
    // JSON.stringify cannot write a "__proto__" member: spliced into the text, as a peer could send it.
    const poison = (e: object, at: string, member: string): string => JSON.stringify(e).replace(`"${at}":{`, `"${at}":{${member},`);
    const rawBody = `{"events":[${[
      JSON.stringify(good1),
      poison(inPayload, 'payload', '"__proto__":{"polluted":true}'),
      poison(inConstructor, 'payload', '"constructor":{"prototype":{"polluted":true}}'),
      poison(inOrigin, 'origin', '"__proto__":{"polluted":true}'),
      JSON.stringify(good2),
    ].join(',')}]}`;
    const res = await api<{ results: { id: string; status: string; field?: string }[] }>(server.url, '/api/events', t, { rawBody });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { id: good1.id, status: 'accepted' },
      expect.objectContaining({ id: inPayload.id, status: 'rejected', field: 'payload.__proto__' }),
      expect.objectContaining({ id: inConstructor.id, status: 'rejected', field: 'payload.constructor' }),
      expect.objectContaining({ id: inOrigin.id, status: 'rejected', field: 'origin.__proto__' }),
      { id: good2.id, status: 'accepted' },
    ]);
    const stored = (await api<Page>(server.url, '/api/events', t)).body.events.map((e) => e.id);
    expect(stored.sort()).toEqual([good1.id, good2.id].sort());
    expect((Object.prototype as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('[SRV7] malformed batches are a clear 4xx and store nothing; the server stays up; a batch at the limits is read', async () => {
    const t = await mint('loc-malformed', 'terminal', 'till-1');
    const cases: Array<[string, { rawBody?: string; body?: unknown }, number, string]> = [
      ['not JSON', { rawBody: '{"events": [' }, 400, 'badRequest'],
      ['events not an array', { body: { events: 'nope' } }, 400, 'invalidBatch'],
      ['no events field', { body: { items: [] } }, 400, 'invalidBatch'],
      ['array body', { body: [ticketOpenedEvent('till-1', 1)] }, 400, 'invalidBatch'],
      ['too many events', { body: { events: Array.from({ length: MAX_BATCH_EVENTS + 1 }, (_, i) => ticketOpenedEvent('till-1', i + 1)) } }, 413, 'payloadTooLarge'],
      ['too many bytes', { rawBody: JSON.stringify({ events: [{ pad: 'x'.repeat(2 * 1024 * 1024) }] }) }, 413, 'payloadTooLarge'],
    ];
    for (const [name, init, status, code] of cases) {
      const res = await api<{ error: string; message: string; serverTime: number }>(server.url, '/api/events', t, init);
      expect(res.status, name).toBe(status);
      expect(res.body.error, name).toBe(code);
      expect(res.body.message.length, name).toBeGreaterThan(0);
      expect(res.body.serverTime, name).toBeTypeOf('number');
    }
    const notJson = await api<{ field?: string; message: string }>(server.url, '/api/events', t, { rawBody: '{"events": [' });
    expect(notJson.body.field).toBe('body');
    expect(notJson.body.message).toMatch(/^malformed JSON: /);
    const wrongField = await api<{ field?: string }>(server.url, '/api/events', t, { body: { events: 'nope' } });
    expect(wrongField.body.field).toBe('events');
    expect((await api<Page>(server.url, '/api/events', t)).body.events).toEqual([]);
    expect((await api(server.url, '/healthz', null)).status).toBe(200);
    // At the limits a batch is read: exactly MAX_BATCH_EVENTS events; a body above Fastify's default 1 MiB.
    const full = await postEvents(server.url, t, Array.from({ length: MAX_BATCH_EVENTS }, (_, i) => ticketOpenedEvent('till-1', i + 1)));
    expect(full.body.watermarks).toEqual({ 'till-1': MAX_BATCH_EVENTS });
    const big = await api<PostEventsResponse>(server.url, '/api/events', t, { body: { events: [{ pad: 'x'.repeat(1.5 * 1024 * 1024) }] } });
    expect(big.status).toBe(200);
    expect(big.body.results.map((r) => r.status)).toEqual(['rejected']);
    // Read without a limit: a page of 500.
    const page = await api<Page>(server.url, '/api/events', t);
    expect([page.body.events.length, page.body.hasMore]).toEqual([500, true]);
  });

  it('[SRV38] GET /api/events pages by server cursor; bad cursors are 400, one beyond the log\'s end 409', async () => {
    const t = await mint('loc-page', 'terminal', 'till-1');
    const batch = [1, 2, 3, 4, 5].map((n) => ticketOpenedEvent('till-1', n));
    await postEvents(server.url, t, batch);
    const first = await api<Page>(server.url, '/api/events?limit=2', t);
    expect(first.body.events.map((e) => e.id)).toEqual(batch.slice(0, 2).map((e) => e.id));
    expect(first.body.hasMore).toBe(true);
    // Exactly the last events: no page after it.
    const rest = await api<Page>(server.url, `/api/events?after=${first.body.next}&limit=3`, t);
    expect(rest.body.events.map((e) => e.id)).toEqual(batch.slice(2).map((e) => e.id));
    expect(rest.body.hasMore).toBe(false);
    const idle = await api<Page>(server.url, `/api/events?after=${rest.body.next}`, t);
    expect(idle.body).toMatchObject({ events: [], next: rest.body.next, hasMore: false });
    expect((await api(server.url, '/api/events?after=abc', t)).status).toBe(400);
    // Beyond a safe integer: it would come back as `next: "1e+23"`, a cursor nobody can pass.
    expect((await api(server.url, '/api/events?after=99999999999999999999999&limit=1', t)).status).toBe(400);
    // Cursors stay within 15 digits, which a number holds exactly: a longer one is refused.
    expect((await api(server.url, '/api/events?after=1234567890123456', t)).status).toBe(400);
    expect((await api(server.url, '/api/events?limit=0', t)).status).toBe(400);
    expect((await api(server.url, `/api/events?limit=${MAX_BATCH_EVENTS + 1}`, t)).status).toBe(400);
    // A cursor this log never gave (its database restored from a backup since, or replaced): not an
    // empty page, which would make its reader skip every event stored next up to that cursor.
    const ahead = await api<{ error: string; field: string }>(server.url, `/api/events?after=${Number(rest.body.next) + 1000}`, t);
    expect(ahead.status).toBe(409);
    expect(ahead.body).toMatchObject({ error: 'cursorAhead', field: 'after' });
  });

  it('[SRV38] after one server clock read beyond the year 2286, a back office pages by cursor through all that follows', async () => {
    let clock = Date.UTC(2290, 0, 1);
    const farServer = await startTestServer({ now: () => clock });
    try {
      // Good until then (the server judges expiry by its clock).
      const t = await mint('loc-far-clock', 'terminal', 'till-1', Math.floor((Date.UTC(2291, 0, 1) - Date.now()) / 1000));
      await postEvents(farServer.url, t, Array.from({ length: 150 }, (_, i) => ticketOpenedEvent('till-1', i + 1)));
      clock = Date.now(); // right again
      await postEvents(farServer.url, t, [ticketOpenedEvent('till-1', 151)]);
      // Following the log, as a back office does, and asking once more for what came since.
      let after = '';
      let read = 0;
      for (let i = 0; i < 10; i++) {
        const page = await api<Page>(farServer.url, `/api/events?after=${after}&limit=60`, t);
        // Before, only 99 cursors were left below 16 digits; the next ones were refused as `after`: 400 for good.
        expect(page.status).toBe(200);
        read += page.body.events.length;
        after = page.body.next;
        if (!page.body.hasMore) break;
      }
      expect(read).toBe(151);
      expect((await api(farServer.url, `/api/events?after=${after}`, t)).status).toBe(200);
    } finally {
      await farServer.dispose();
    }
  });

  it('[CMD2] a terminal token may not post its own void, comp, refund, conflict resolution or menu change; a manager may, and a till may relay a manager\'s', async () => {
    const till = await mint('loc-roles', 'terminal', 'till-1');
    const manager = await mint('loc-roles', 'manager', 'manager-1');
    const ticket = { type: 'ticket', id: 'ticket-1' };
    const event = (terminal: string, n: number, type: string, payload: object) =>
      ticketOpenedEvent(terminal, n, { type, aggregate: ticket, seq: n, payload });
    const results = async (t: string, events: unknown[]) =>
      (await postEvents(server.url, t, events)).body.results.map((r) => ({ status: r.status, field: r.field }));
    await postEvents(server.url, till, [event('till-1', 1, 'ticket.opened', { number: 'A-001' })]);
    const comp = { lineId: 'line-1', reason: 'cold', quantity: 1 };
    const refund = { refundId: 'rf-1', method: 'cash', amountCents: 500, reason: 'cold' };
    expect(
      await results(till, [
        event('till-1', 2, 'ticket.voided', { reason: 'walked out' }),
        event('till-1.2', 1, 'conflict.resolved', { conflictId: 'c', resolution: { kind: 'keep_void' } }),
        event('till-1', 3, 'ticket.line_comped', comp),
        event('till-1', 4, 'ticket.refunded', refund),
      ]),
    ).toEqual([
      { status: 'rejected', field: 'type' },
      { status: 'rejected', field: 'type' },
      { status: 'rejected', field: 'type' },
      { status: 'rejected', field: 'type' },
    ]);
    // The manager's own, and the same kind of event written by the manager's tablet and uploaded by a till (SYN5).
    expect(
      await results(manager, [event('manager-1', 1, 'ticket.voided', { reason: 'walked out' }), event('manager-1', 2, 'ticket.line_comped', comp), event('manager-1', 3, 'ticket.refunded', refund)]),
    ).toEqual([{ status: 'accepted' }, { status: 'accepted' }, { status: 'accepted' }]);
    expect(await results(till, [event('manager-2', 1, 'ticket.voided', { reason: 'again' }), event('manager-2', 2, 'ticket.line_comped', comp)])).toEqual([{ status: 'accepted' }, { status: 'accepted' }]);
    // Nor as the server's own writer (the demo seed's): a new event of it is refused from any token.
    expect(await results(till, [event('server', 90, 'ticket.voided', { reason: 'forged' }), event('server.2', 1, 'ticket.note_set', { note: 'x' })])).toEqual([
      { status: 'rejected', field: 'origin.terminal' },
      { status: 'rejected', field: 'origin.terminal' },
    ]);
    expect(await results(manager, [event('server', 91, 'ticket.voided', { reason: 'forged' })])).toEqual([{ status: 'rejected', field: 'origin.terminal' }]);
    // Stored already (the manager posted it), a till's own-writer copy of it is refused all the same.
    const managersVoid = event('till-1', 9, 'ticket.voided', { reason: 'stored' });
    expect(await results(manager, [managersVoid])).toEqual([{ status: 'accepted' }]);
    expect(await results(till, [managersVoid])).toEqual([{ status: 'rejected', field: 'type' }]);

    // The menu is a manager's too (APP26); marking an item sold out is anyone's (the kitchen does).
    const item = { type: 'menu_item', id: 'item-1' };
    const menuEvent = (terminal: string, n: number, type: string, payload: object) => ticketOpenedEvent(terminal, n, { type, aggregate: item, seq: n, payload });
    expect(
      await results(till, [
        menuEvent('till-1', 4, 'menu.item_defined', { menuItemId: 'item-1', name: 'Soup', category: 'Starters', priceCents: 700 }),
        menuEvent('till-1', 5, 'menu.item_repriced', { menuItemId: 'item-1', priceCents: 800 }),
        menuEvent('till-1', 6, 'menu.item_retired', { menuItemId: 'item-1' }),
        menuEvent('till-1', 7, 'menu.item_availability_set', { menuItemId: 'item-1', available: false }),
      ]),
    ).toEqual([{ status: 'rejected', field: 'type' }, { status: 'rejected', field: 'type' }, { status: 'rejected', field: 'type' }, { status: 'accepted' }]);
    expect(await results(manager, [menuEvent('manager-1', 4, 'menu.item_defined', { menuItemId: 'item-1', name: 'Soup', category: 'Starters', priceCents: 700 })])).toEqual([{ status: 'accepted' }]);
  });

  it('GET /api/aggregates/:type/:id answers the shared projection of the stored events', async () => {
    const t = await mint('loc-agg', 'terminal', 'till-1');
    const e = ticketOpenedEvent('till-1', 1);
    await postEvents(server.url, t, [e]);
    const res = await api<{ aggregate: unknown; state: Record<string, unknown>; events: { id: string }[] }>(
      server.url,
      `/api/aggregates/ticket/${e.aggregate.id}`,
      t,
    );
    expect(res.status).toBe(200);
    expect(res.body.aggregate).toEqual({ type: 'ticket', id: e.aggregate.id });
    expect(res.body.state).toMatchObject({ id: e.aggregate.id, aggregateType: 'ticket' });
    expect(res.body.events.map((x) => x.id)).toEqual([e.id]);
    // A later batch is in the next read (each read folds the aggregate from the store).
    const e2 = ticketOpenedEvent('till-1', 2);
    await postEvents(server.url, t, [e2]);
    expect((await api(server.url, `/api/aggregates/ticket/${e2.aggregate.id}`, t)).status).toBe(200);
    expect((await api(server.url, `/api/aggregates/menu_item/${e.aggregate.id}`, t)).status).toBe(404);
  });

  it('every response carries serverTime; health, metrics and CORS behave', async () => {
    for (const res of [
      await api(server.url, '/healthz', null),
      await api(server.url, '/api/watermarks', token),
      await api(server.url, '/api/nope', token),
      await api(server.url, '/metrics', null),
    ]) {
      expect(Number(res.headers.get('x-server-time'))).toBeGreaterThan(0);
    }
    const metrics = await api<string>(server.url, '/metrics', null);
    expect(metrics.body).toMatch(/rms_events_ingested_total\{status="accepted"\} \d+/);
    expect(metrics.body).toMatch(/rms_events_ingested_total\{status="duplicate"\} \d+/);
    expect(metrics.body).toMatch(/rms_batch_duration_seconds_count \d+/);
    expect(metrics.body).toContain('rms_relay_connections');
    const allowed = await fetch(`${server.url}/api/watermarks`, { headers: { origin: ALLOWED } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const other = await fetch(`${server.url}/api/watermarks`, { headers: { origin: 'http://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const old = await api(server.url, '/api/watermarks', token, { headers: { 'x-rms-protocol': '0' } });
    expect(old.status).toBe(400);
    expect(old.body).toMatchObject({ error: 'clientTooOld' });
    // Every failure in the one error format: a body that is not JSON, a URL Fastify cannot route.
    const text = await fetch(`${server.url}/api/events`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, body: '{"events":[]}' });
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ error: 'badRequest', serverTime: expect.any(Number) });
    const badUrl = await fetch(`${server.url}/%c0%ae%c0%ae/x`);
    expect(badUrl.status).toBe(400);
    expect(await badUrl.json()).toMatchObject({ error: 'badRequest', serverTime: expect.any(Number) });
    // Digits only, as the relay's `v` reads it: "1.0" or "0x1" is no version.
    for (const notAVersion of ['abc', '1.0', '0x1', '1e0']) {
      const garbage = await api(server.url, '/api/watermarks', token, { headers: { 'x-rms-protocol': notAVersion } });
      expect(garbage.status, notAVersion).toBe(400);
      expect(garbage.body).toMatchObject({ error: 'badRequest', field: 'x-rms-protocol' });
    }
    expect((await api(server.url, '/api/watermarks', token, { headers: { 'x-rms-protocol': '1' } })).status).toBe(200);
  });
});

describe('/metrics and /api/admin/stats values (docs/server.md, "Operations")', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function freshServer(): Promise<InProcessServer> {
    const s = await startTestServer();
    cleanups.push(() => s.dispose());
    return s;
  }

  /** The value of one series of /metrics (`series` a regex source, labels escaped); NaN when it is not listed. */
  async function metric(s: InProcessServer, series: string): Promise<number> {
    const text = (await api<string>(s.url, '/metrics', null)).body;
    const line = new RegExp(`^${series} (\\S+)$`, 'm').exec(text);
    return line === null ? NaN : Number(line[1]);
  }

  it('counts a batch\'s accepted, duplicate and rejected events, one batch duration per POST, and the process metrics', async () => {
    const s = await freshServer();
    const t = await mint('m1', 'terminal', 'till-1');
    const events = [1, 2, 3].map((n) => ticketOpenedEvent('till-1', n));
    expect((await postEvents(s.url, t, events)).status).toBe(200);
    const unknownType = { ...ticketOpenedEvent('till-1', 4), type: 'no.such_type' };
    expect((await postEvents(s.url, t, [events[0], unknownType])).status).toBe(200);
    expect(await metric(s, 'rms_events_ingested_total\\{status="accepted"\\}')).toBe(3);
    expect(await metric(s, 'rms_events_ingested_total\\{status="duplicate"\\}')).toBe(1);
    expect(await metric(s, 'rms_events_ingested_total\\{status="rejected"\\}')).toBe(1);
    expect(await metric(s, 'rms_batch_duration_seconds_count')).toBe(2);
    expect(await metric(s, 'rms_process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('relay connections are summed over rooms, rooms counted, bytes counted by direction', async () => {
    const s = await freshServer();
    const a = await connectSynced(s.wsUrl, 'room-a', await mint('room-a', 'terminal', 'till-1'));
    cleanups.push(() => a.destroy());
    const b = await connectSynced(s.wsUrl, 'room-b', await mint('room-b', 'terminal', 'till-1'));
    cleanups.push(() => b.destroy());
    await waitForAsync(async () => (await metric(s, 'rms_relay_connections')) === 2, 'two connections in two rooms');
    expect(await metric(s, 'rms_relay_rooms')).toBe(2);
    const bytes = async (direction: 'in' | 'out'): Promise<number> => (await metric(s, `rms_relay_bytes_total\\{direction="${direction}"\\}`)) || 0;
    const inBefore = await bytes('in');
    const outBefore = await bytes('out');
    // ~100 KB of events from a till alone in its room: they come in, and go out to no one.
    const events = Array.from({ length: 400 }, (_, i) => ticketOpenedEvent('till-1', i + 1));
    a.doc.transact(() => new SegmentWriter(a.doc, 'till-1').append(events.map((e) => canonicalEventJson(e))), 'local');
    await waitForAsync(async () => (await bytes('in')) - inBefore >= 80_000, '80 KB in');
    expect((await bytes('out')) - outBefore).toBeLessThan(10_000);
    b.destroy();
    await waitForAsync(async () => (await metric(s, 'rms_relay_connections')) === 1, 'one connection left');
  });

  it('GET /api/admin/stats: the location\'s event count and watermarks, and its room with its connections while loaded', async () => {
    const s = await freshServer();
    await postEvents(s.url, await mint('st', 'terminal', 'till-1'), [1, 2].map((n) => ticketOpenedEvent('till-1', n)));
    const c = await connectSynced(s.wsUrl, 'st', await mint('st', 'terminal', 'till-2'));
    cleanups.push(() => c.destroy());
    const stats = await api<{ events: number; watermarks: Record<string, number>; room: unknown }>(s.url, '/api/admin/stats', await mint('st', 'admin', 'admin-1'));
    expect(stats.body).toMatchObject({ events: 2, watermarks: { 'till-1': 2 }, room: { loaded: true, connections: 1 } });
  });
});
