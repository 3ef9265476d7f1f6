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
// it for `npm start`): the server and the shared/ code it imports as one ES module in dist-server/; packages stay external,
// loaded from node_modules. Plain Node runs it with no TypeScript loader, which halves the
// start (0.7 s against 1.3 s through tsx): terminals wait that much less after a restart.
const server: UserConfig = {
  logLevel: 'warn',
  build: {
    outDir: 'dist-server',
    emptyOutDir: true,
    target: 'node20',
    sourcemap: true,
  },
};

export default defineConfig(({ isSsrBuild }) => (isSsrBuild ? server : staffApp));
