/**
 * Wall-clock time as reactive state, ticking once a second while anyone listens. It is this
 * device's own clock: right for what the device itself timed (last sync, next retry), not for
 * event stamps (`at`, `sentAt`, `bumpedAt`: hybrid-clock, server-corrected), which are
 * compared with `store.clock.physicalNow()` read on each tick (see KitchenModel.ageOf).
 */
export class Now {
  value = $state(Date.now());
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly everyMs = 1000) {}

  start(): void {
    if (this.timer !== null) return;
    this.value = Date.now();
    this.timer = setInterval(() => (this.value = Date.now()), this.everyMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
