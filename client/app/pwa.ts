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
 * comes back ('online').
 */
export const UPDATE_CHECK_EVERY_MS = 10 * 60_000;

export interface ShellEvents {
  /** A new build is waiting; call `apply()` to activate it and reload. */
  needRefresh(apply: () => Promise<void>): void;
  offlineReady(): void;
}

export function registerShell(events: ShellEvents): void {
  if (!('serviceWorker' in navigator)) return;
  const update = registerSW({
    immediate: true,
    onNeedRefresh: () => events.needRefresh(() => update(true)),
    onOfflineReady: () => events.offlineReady(),
    onRegisteredSW: (_url, registration) => {
      if (registration) checkForUpdates(registration);
    },
  });
}

function checkForUpdates(registration: ServiceWorkerRegistration): void {
  const check = (): void => {
    // Offline, or a new worker already installing: nothing to ask. A failed check (the server
    // unreachable) is simply tried again at the next tick or 'online'.
    if (!navigator.onLine || registration.installing) return;
    registration.update().catch(() => {});
  };
  setInterval(check, UPDATE_CHECK_EVERY_MS);
  // Right after 'online' the first requests can still fail (Wi-Fi rejoining): ask again shortly.
  window.addEventListener('online', () => {
    check();
    setTimeout(check, 5_000);
  });
}
