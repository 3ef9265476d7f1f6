import type { z } from 'zod';
import { CURRENT_VERSIONS, EVENT_CATALOG, type EventType } from '../../shared/events/catalog';
import { newEventId } from '../../shared/events/event-id';
import { UPCASTERS } from '../../shared/events/upcasters';
import { SegmentWriter } from '../../shared/log/log-doc';
import { startTestServer, type InProcessServer } from './server-in-process';
import { makeDataDir, removeDataDir } from './server-process';
import type { TestTerminal } from './terminals';

/**
 * Other builds of the app. The event catalog as one has it, for the servers a test starts in
 * this process (a server started after the change is that build; its terminals share the
 * catalog too): each change returns its undo, for the test's `defer`. And an event as one
 * wrote it, which this build would not (a version it does not know, a payload it refuses).
 */
type Versions = Record<number, z.ZodType>;
type Upcasters = Record<number, (payload: unknown) => unknown>;

/** An updated build: `type` has one version more, `schema` (by default the current one's; a payload of the one before upcast as it is). */
export function withNextVersion(type: EventType, schema?: z.ZodType): () => void {
  const current = CURRENT_VERSIONS[type];
  const versions = EVENT_CATALOG[type].versions as Versions;
  schema ??= versions[current]!;
  const upcastersByType = UPCASTERS as Record<string, Upcasters>;
  const hadUpcasters = upcastersByType[type] !== undefined;
  const upcasters = (upcastersByType[type] ??= {});
  versions[current + 1] = schema;
  upcasters[current] = (payload) => payload;
  (CURRENT_VERSIONS as Record<string, number>)[type] = current + 1;
  return () => {
    delete versions[current + 1];
    delete upcasters[current];
    if (!hadUpcasters) delete upcastersByType[type];
    (CURRENT_VERSIONS as Record<string, number>)[type] = current;
  };
}

/** A build with other limits: `type`'s payload at version `v` checked by `schema`. */
export function withSchema(type: EventType, v: number, schema: z.ZodType): () => void {
  const versions = EVENT_CATALOG[type].versions as Versions;
  const before = versions[v];
  versions[v] = schema;
  return () => {
    if (before === undefined) delete versions[v];
    else versions[v] = before;
  };
}

type UncheckedEvent = { type: string; v: number; aggregate: { id: string; type: string }; payload: unknown };

/** Writes into `t`'s log, as its writer's `n`th event, what another build of the app wrote (unchecked). */
export function writeAsOtherBuild(t: TestTerminal, n: number, event: UncheckedEvent): void {
  arriveFrom(t, { terminal: t.store.writer, n, at: t.store.clock.now() }, event);
}

/** Writes into `t`'s log another till's event as the relay brings it: `origin`'s writer, its `n`, stamped `at` (unchecked). */
export function arriveFrom(t: Pick<TestTerminal, 'store'>, origin: { terminal: string; n: number; at: number }, event: UncheckedEvent): void {
  const envelope = { id: newEventId(origin.at), seq: origin.n, at: origin.at, ...event, origin: { terminal: origin.terminal, n: origin.n } };
  t.store.doc.transact(() => new SegmentWriter(t.store.doc, origin.terminal).append([JSON.stringify(envelope)]), 'other-build');
}

/**
 * A server a test updates to another build: `restart(change)` stops it, makes the catalog change
 * (a version more, another schema) and starts it again on the same data, on another port.
 * `fetch` sends a till's requests, made to `firstUrl`, to whichever runs now.
 */
export async function updatableServer(defer: (cleanup: () => void | Promise<void>) => void): Promise<{
  readonly server: InProcessServer;
  firstUrl: string;
  fetch: typeof globalThis.fetch;
  restart(change: () => void): Promise<InProcessServer>;
}> {
  const dataDir = makeDataDir();
  defer(() => removeDataDir(dataDir));
  let server = await startTestServer({ dataDir });
  defer(() => server.close());
  const firstUrl = server.url;
  return {
    get server() {
      return server;
    },
    firstUrl,
    fetch: (input, init) => globalThis.fetch(String(input).replace(firstUrl, server.url), init),
    async restart(change) {
      await server.close();
      change();
      server = await startTestServer({ dataDir });
      return server;
    },
  };
}
