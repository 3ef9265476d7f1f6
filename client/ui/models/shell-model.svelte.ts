/** The offline shell's state: whether the build is cached, and a waiting update. */
export class ShellModel {
  offlineReady = $state(false);
  updateWaiting = $state(false);
  private apply: (() => Promise<void>) | null = null;

  updateReady(apply: () => Promise<void>): void {
    this.apply = apply;
    this.updateWaiting = true;
  }

  markOfflineReady(): void {
    this.offlineReady = true;
  }

  /** Activates the new build and reloads; open tickets are in IndexedDB and come back as they were. */
  async applyUpdate(): Promise<void> {
    await this.apply?.();
  }
}
