import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Imported (`--import`) into the relay processes of bench/server-relay.ts: SIGUSR2 runs a
 * full garbage collection, so "RSS per connection" reads memory the connections hold, not
 * the garbage their handshakes left that the next collection frees (up to the size of V8's
 * young generation: tens of KiB per connection at 100 connections, and different for every
 * run). The flag set at runtime exposes `gc` to a fresh context only; the process's own code
 * runs as it would without this.
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
process.on('SIGUSR2', () => collectGarbage());
