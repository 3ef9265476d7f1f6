/// <reference types="vite-plugin-pwa/client" />
import { registerSW } from 'virtual:pwa-register';

/**
 * The offline shell: a service worker (vite-plugin-pwa, workbox) precaches the whole build,
 * so after the first visit a reload with no network still starts the app, which then reads
 * everything from IndexedDB.
 *
 * A new build never replaces the running one by itself (registerType 'prompt'): the app
 * is told, shows "update ready", and applies it when staff choose to (or the shell model
 * does, after a few idle minutes with nothing half-typed). Reloading loses no ticket (every
 * action is durable in IndexedDB before it shows).
 *
 * A till runs for days without a navigation, and the browser looks for a new service worker
 * only on one: so the app asks itself, every UPDATE_CHECK_EVERY_MS and whenever the network
 * comes back ('online'), again until the server answers (for a minute at most).
 */
export const UPDATE_CHECK_EVERY_MS = 10 * 60_000;
const UPDATE_RETRY_MS = 5_000;
const UPDATE_RETRIES = 12;
/** How long a page no worker controls waits for the new build to activate before it reloads anyway. */
const ACTIVATE_WAIT_MS = 10_000;

export interface ShellEvents {
  /** A new build is waiting; call `apply()` to activate it and reload. */
  needRefresh(apply: () => Promise<void>): void;
  offlineReady(): void;
}

export function registerShell(events: ShellEvents): void {
  if (!('serviceWorker' in navigator)) return;
  let applying = false;
  const update = registerSW({
    immediate: true,
    onNeedRefresh: () =>
      events.needRefresh(async () => {
        applying = true;
        await update(true);
        // A page no worker controls (the one opened from the pairing link, never reloaded: no
        // clients.claim()) never sees 'controlling', which reloads the others (onNeedReload).
        if (navigator.serviceWorker.controller === null) await reloadOnceActivated();
      }),
    // The new build took control. Applied here: reload. Applied in another tab of the app (all
    // of them are told): this page runs on (one bundle, nothing more to load) and reloads as
    // an update waiting would, when staff choose or it is idle with nothing half-typed.
    onNeedReload: () => (applying ? window.location.reload() : events.needRefresh(() => Promise.resolve(window.location.reload()))),
    onOfflineReady: () => events.offlineReady(),
    onRegisteredSW: (_url, registration) => {
      if (registration) checkForUpdates(registration);
    },
  });
}

/** Reloads once the waiting build has activated (or failed to), or after ACTIVATE_WAIT_MS at most. */
async function reloadOnceActivated(): Promise<void> {
  const registration = await navigator.serviceWorker.getRegistration();
  const active = registration?.active ?? null;
  const incoming = registration?.waiting ?? (active?.state === 'activating' ? active : null);
  if (incoming !== null) {
    await new Promise<void>((settled) => {
      const timeout = setTimeout(settled, ACTIVATE_WAIT_MS);
      incoming.addEventListener('statechange', () => {
        if (incoming.state !== 'activated' && incoming.state !== 'redundant') return;
        clearTimeout(timeout);
        settled();
      });
    });
  }
  window.location.reload();
}

function checkForUpdates(registration: ServiceWorkerRegistration): void {
  let retry: ReturnType<typeof setTimeout> | undefined;
  const check = async (attemptsLeft: number): Promise<void> => {
    clearTimeout(retry);
    // Offline: 'online' starts again. A worker already installing may yet fail (its precache
    // cut off), so that counts as not yet asked, like a check that fails because the network
    // is still rejoining: both are asked again shortly, a bounded number of times.
    if (!navigator.onLine) return;
    if (!registration.installing) {
      try {
        await registration.update();
        return;
      } catch {
        // the server unreachable: below
      }
    }
    if (attemptsLeft > 0) retry = setTimeout(() => void check(attemptsLeft - 1), UPDATE_RETRY_MS);
  };
  setInterval(() => void check(UPDATE_RETRIES), UPDATE_CHECK_EVERY_MS);
  window.addEventListener('online', () => void check(UPDATE_RETRIES));
}
