/// <reference types="vite-plugin-pwa/client" />
import { registerSW } from 'virtual:pwa-register';

/**
 * The offline shell: a service worker (vite-plugin-pwa, workbox) precaches the whole build,
 * so after the first visit a reload with no network still starts the app, which then reads
 * everything from IndexedDB.
 *
 * A new build never replaces the running one by itself (registerType 'prompt'): the app
 * is told, shows "update ready", and applies it when staff choose to. Reloading loses no
 * ticket (every action is durable in IndexedDB before it shows), only what is half-typed.
 */
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
  });
}
