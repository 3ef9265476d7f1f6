import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACKS, SegmentWriter, acksOf, segmentsOf } from '../../shared/log/log-doc';
import { canonicalEventJson } from '../../shared/events/envelope';
import { startTestServer, type InProcessServer } from '../helpers/server-in-process';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { api, connectClient, connectSynced, eventIdsIn, mint, postEvents, ticketOpenedEvent, waitFor, waitForAsync } from '../helpers/server-clients';

describe('bridge: REST batches reach the room live, once', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    // The REST path alone: with relay ingest on, what a terminal writes into the room is stored
    // from the relay first and its upload answered duplicate (tests/integration/server-relay-ingest.test.ts).
    server = await startTestServer({ relay: { roomIdleMs: 50 }, relayIngest: false });
  });
  afterAll(async () => {
    await server.dispose();
  });

  it('[SRV8] an event posted 3 times appears exactly once in connected clients, and acks follow watermarks', async () => {
    const token = await mint('loc-br', 'terminal', 'till-1');
    const a = await connectSynced(server.wsUrl, 'loc-br', token);
    const b = await connectSynced(server.wsUrl, 'loc-br', await mint('loc-br', 'terminal', 'till-2'));
    const e = ticketOpenedEvent('till-1', 1);
    await Promise.all([1, 2, 3].map(() => postEvents(server.url, token, [e])));
    await postEvents(server.url, token, [e]);
    for (const c of [a, b]) {
      await waitFor(() => eventIdsIn(c.doc).includes(e.id), 'event reached client');
      await waitFor(() => acksOf(c.doc).get('till-1') === 1, 'ack reached client');
    }
    // One more round trip so any late duplicate would have arrived too.
    const marker = ticketOpenedEvent('till-1', 2);
    await postEvents(server.url, token, [marker]);
    await waitFor(() => eventIdsIn(a.doc).includes(marker.id) && eventIdsIn(b.doc).includes(marker.id), 'marker');
    expect(eventIdsIn(a.doc).filter((id) => id === e.id)).toHaveLength(1);
    expect(eventIdsIn(b.doc).filter((id) => id === e.id)).toHaveLength(1);
    expect([...segmentsOf(a.doc).keys()].every((k) => k.startsWith('server/'))).toBe(true);
    expect(acksOf(a.doc).get('till-1')).toBe(2);
    a.destroy();
    b.destroy();
  });

  it('an event a terminal already wrote into the room is not appended again when uploaded', async () => {
    const token = await mint('loc-own', 'terminal', 'till-1');
    const a = await connectSynced(server.wsUrl, 'loc-own', token);
    const e = ticketOpenedEvent('till-1', 1);
    a.doc.transact(() => new SegmentWriter(a.doc, 'till-1').append([canonicalEventJson(e)]), 'local');
    const probe = await connectSynced(server.wsUrl, 'loc-own', token);
    await waitFor(() => eventIdsIn(probe.doc).includes(e.id), 'relayed');
    expect((await postEvents(server.url, token, [e])).body.results[0]!.status).toBe('accepted');
    await waitFor(() => acksOf(a.doc).get('till-1') === 1, 'acked');
    expect(eventIdsIn(a.doc).filter((id) => id === e.id)).toHaveLength(1);
    a.destroy();
    probe.destroy();
  });

  it('acks only grow; a room that is not loaded is loaded, written and unloaded again', async () => {
    // Posted by a back-office integration (not the events' own terminal): bridged at once.
    const token = await mint('loc-cold', 'manager', 'back-office');
    const e1 = ticketOpenedEvent('till-1', 1);
    const e2 = ticketOpenedEvent('till-1', 2);
    const e3 = ticketOpenedEvent('till-1', 3);
    // No client connected: the bridge loads the room itself.
    await postEvents(server.url, token, [e1, e2]);
    const admin = await mint('loc-cold', 'admin', 'ops');
    await waitForAsync(
      async () => (await api<{ room: unknown }>(server.url, '/api/admin/stats', admin)).body.room === null,
      'idle room unloaded',
    );
    const c = await connectSynced(server.wsUrl, 'loc-cold', await mint('loc-cold', 'terminal', 'till-9'));
    expect(eventIdsIn(c.doc).sort()).toEqual([e1.id, e2.id].sort());
    expect(acksOf(c.doc).get('till-1')).toBe(2);
    // A client lowering an ack (bug or old replica) is corrected by the next batch, never lowered by the server.
    c.doc.getMap<number>(ACKS).set('till-1', 1);
    await postEvents(server.url, token, [e3]);
    await waitFor(() => acksOf(c.doc).get('till-1') === 3, 'ack raised to 3');
    c.destroy();
  });

  it('[SRV12] a terminal\'s own upload is bridged only if its relay has not delivered it within the grace: no event twice in the doc', async () => {
    const token = await mint('loc-own', 'terminal', 'till-1');
    const writer = await connectSynced(server.wsUrl, 'loc-own', token);
    const viewer = await connectSynced(server.wsUrl, 'loc-own', await mint('loc-own', 'terminal', 'till-2'));
    // Relayed first, then uploaded (the normal path): the room already holds it.
    const relayedFirst = ticketOpenedEvent('till-1', 1);
    writer.doc.transact(() => new SegmentWriter(writer.doc, 'till-1').append([JSON.stringify(relayedFirst)]));
    await waitFor(() => eventIdsIn(viewer.doc).includes(relayedFirst.id), 'relayed');
    // Uploaded but never relayed (its relay is down): bridged after the grace.
    const uploadedOnly = ticketOpenedEvent('till-1', 2);
    await postEvents(server.url, token, [relayedFirst, uploadedOnly]);
    await waitFor(() => eventIdsIn(viewer.doc).includes(uploadedOnly.id), 'bridged after the grace', 15_000);
    const ids = eventIdsIn(viewer.doc);
    expect(ids.filter((id) => id === relayedFirst.id)).toHaveLength(1);
    expect(ids.filter((id) => id === uploadedOnly.id)).toHaveLength(1);
    writer.destroy();
    viewer.destroy();
  });

  it('a terminal cut off mid-session (network drop) reconnects and receives what was posted meanwhile, once', async () => {
    const token = await mint('loc-drop', 'terminal', 'till-1');
    const proxy = await startTcpProxy(server.port);
    const a = connectClient(proxy.wsUrl, 'loc-drop', token);
    await waitFor(() => a.provider.synced, 'synced through proxy');
    await proxy.refuse(true);
    proxy.cut();
    await waitFor(() => !a.provider.wsconnected, 'client noticed the drop');
    const e = ticketOpenedEvent('till-1', 1);
    await postEvents(server.url, token, [e]);
    a.doc.getMap('m').set('offline', 1);
    await proxy.refuse(false);
    await waitFor(() => eventIdsIn(a.doc).includes(e.id), 'missed event arrives after reconnect');
    const probe = await connectSynced(server.wsUrl, 'loc-drop', token);
    await waitFor(() => probe.doc.getMap('m').get('offline') === 1, 'offline edit delivered');
    await postEvents(server.url, token, [e]);
    expect(eventIdsIn(probe.doc).filter((id) => id === e.id)).toHaveLength(1);
    a.destroy();
    probe.destroy();
    await proxy.close();
  });
});
