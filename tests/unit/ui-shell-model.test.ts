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

  /** A text field: what a focused one holds no model may know (a void reason). */
  class Input {
    value = '';
  }

  function shellWith(drafts: () => boolean, saveTicketNote: () => Promise<void> = async () => {}) {
    g.window = new EventTarget();
    g.document = { activeElement: null };
    g.HTMLInputElement = Input;
    g.HTMLTextAreaElement = class {};
    vi.useFakeTimers();
    const shell = new shellMod.ShellModel({ drafts, saveTicketNote });
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

  it('[APP8] is not applied while a focused field holds half-typed text no model knows of, and is once it is empty', () => {
    const { apply } = shellWith(() => false);
    const field = new Input();
    field.value = 'customer complained';
    (g.document as { activeElement: unknown }).activeElement = field;
    vi.advanceTimersByTime(shellMod.UPDATE_IDLE_MS + 60_000);
    expect(apply).not.toHaveBeenCalled();
    field.value = '  ';
    vi.advanceTimersByTime(60_000);
    expect(apply).toHaveBeenCalledTimes(1);
  });

  it('[APP8] two updates found in a row are applied once', () => {
    const { shell, apply } = shellWith(() => false);
    shell.updateReady(apply);
    vi.advanceTimersByTime(shellMod.UPDATE_IDLE_MS + 120_000);
    expect(apply).toHaveBeenCalledTimes(1);
  });

  it('[APP8] "Reload now" saves the ticket note typed first, then reloads', async () => {
    let unsavedNote = true;
    const saveTicketNote = vi.fn(async () => {
      unsavedNote = false;
    });
    const { shell, apply } = shellWith(() => unsavedNote, saveTicketNote);
    await shell.reloadNow();
    expect(saveTicketNote).toHaveBeenCalledTimes(1);
    expect(apply).toHaveBeenCalledTimes(1);
    expect(shell.confirmingLoss).toBe(false);
  });

  it('[APP8] "Reload now" with other typed work left asks first, and reloads only when told to', async () => {
    const { shell, apply } = shellWith(() => true);
    await shell.reloadNow();
    expect(apply).not.toHaveBeenCalled();
    expect(shell.confirmingLoss).toBe(true);
    await shell.applyUpdate();
    expect(apply).toHaveBeenCalledTimes(1);
    expect(shell.confirmingLoss).toBe(false);
  });
});
