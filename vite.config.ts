import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { VitePWA } from 'vite-plugin-pwa';

// The staff app (client/). The server (server/) serves dist/ in production.
export default defineConfig({
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
});
