// Preloaded into the server process (NODE_OPTIONS=--import): its Date.now is real time plus the
// offset written in CHAOS_CLOCK_FILE (ms), re-read at most every 20 ms: days pass for the server.
import { readFileSync } from 'node:fs';
const file = process.env.CHAOS_CLOCK_FILE;
if (file) {
  const real = Date.now.bind(Date);
  let offset = 0;
  let readAt = -Infinity;
  Date.now = () => {
    const r = real();
    if (r - readAt > 20) {
      readAt = r;
      try {
        offset = Number(readFileSync(file, 'utf8')) || 0;
      } catch {
        // not written yet: real time
      }
    }
    return r + offset;
  };
}
