import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cleanUpAfterEach, shellMod } from '../helpers/ui-models';

cleanUpAfterEach();

describe('automatic update (ShellModel)', () => {
  // Just enough of a browser for ShellModel: activity listeners, the focused element.
  const g = globalThis as Record<string, unknown>;
  const BROWSER = ['window', 'document', 'HTMLInputElement', 'HTMLTextAreaElement'];
  const saved = new Map<string, unknown>();
  beforeAll(() => {
    for (const k of BROWSER) saved.set(k, g[k]);
  });
  afterEach(() => {
    for (const k of BROWSER) g[k] = saved.get(k);
  });

  function shellWith(drafts: () => boolean) {
    g.window = new EventTarget();
    g.document = { activeElement: null };
    g.HTMLInputElement = class {};
    g.HTMLTextAreaElement = class {};
    vi.useFakeTimers();
    const shell = new shellMod.ShellModel(drafts);
    const apply = vi.fn(async () => {});
    shell.updateReady(apply);
    return { shell, apply };
  }

  it('[APP8] is not applied while a model holds a draft (nothing focused), and is once the draft is gone', () => {
    let drafts = true;
    const { apply } = shellWith(() => drafts);
    vi.advanceTimersByTime(shellMod.UPDATE_IDLE_MS + 60_000);
    expect(apply).not.toHaveBeenCalled();
    drafts = false;
    vi.advanceTimersByTime(60_000);
    expect(apply).toHaveBeenCalledTimes(1);
  });
});
