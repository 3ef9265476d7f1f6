import { defineConfig, type UserConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { VitePWA } from 'vite-plugin-pwa';

// The staff app (client/), `vite build`: into dist/, which the server serves.
const staffApp: UserConfig = {
  root: 'client',
  envDir: '..',
  plugins: [
    svelte(),
    // Offline shell: a workbox service worker precaches every file of the build, and serves
    // index.html for any navigation, so a reload with no network starts the app (which then
    // reads its data from IndexedDB). 'prompt': a new build waits until staff reload
    // (client/app/pwa.ts); it never swaps the code under an open ticket by itself.
    VitePWA({
      registerType: 'prompt',
      injectRegister: false,
      manifest: false,
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg,png,ico,woff2}'],
        navigateFallback: 'index.html',
        navigateFallbackDenylist: [/^\/api\//, /^\/sync\//, /^\/healthz/, /^\/metrics/],
        cleanupOutdatedCaches: true,
        clientsClaim: false,
        skipWaiting: false,
      },
    }),
  ],
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    target: 'es2022',
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8787',
      '/sync': { target: 'ws://127.0.0.1:8787', ws: true },
    },
  },
};

// The server, `vite build --ssr server/main.ts` (`npm run build:server`; scripts/start.mjs runs
// it for `npm start`): the server, the shared/ code and the packages they import as one ES
// module in dist-server/ (better-sqlite3 aside: a native addon, loaded from node_modules).
// Plain Node runs it with no TypeScript loader, and one file spares Node resolving and reading
// ~300 package modules: it listens 0.45 s after the process starts, against 0.65 s with the
// packages external and 1.3 s through tsx. A restart is an outage for every terminal.
const server: UserConfig = {
  logLevel: 'warn',
  ssr: { noExternal: true, external: ['better-sqlite3'] },
  build: {
    outDir: 'dist-server',
    emptyOutDir: true,
    target: 'node20',
    sourcemap: true,
  },
};

export default defineConfig(({ isSsrBuild }) => (isSsrBuild ? server : staffApp));
