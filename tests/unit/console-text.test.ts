import { describe, expect, it } from 'vitest';
// Only the plain function is used: importing the module runs no rune (they are in ConsoleModel's fields).
import { clockOffsetText } from '../../client/ui/models/console-model.svelte';

describe('Technical console', () => {
  it('[OUT10] a clock offset says what its sign means', () => {
    expect(clockOffsetText(1_234.4)).toBe('+1234 ms (server ahead)');
    expect(clockOffsetText(-3_600_000)).toBe('-3600000 ms (server behind)');
    expect(clockOffsetText(0)).toBe('0 ms (in step with the server)');
    expect(clockOffsetText(null)).toBe('— (not measured yet)');
  });
});
