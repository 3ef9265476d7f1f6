import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config';

describe('server configuration from the environment', () => {
  it('uses the documented defaults when nothing is set, and counts an empty value as unset', () => {
    const defaults = loadConfig({});
    expect(defaults.port).toBe(8787);
    expect(defaults.dataDir).toBe('./data');
    expect(defaults.seedDemo).toBe(true);
    expect(loadConfig({ PORT: '', DATA_DIR: '', RMS_SECRET: '' })).toEqual(defaults);
  });

  it('rejects bad values with one error naming every bad variable', () => {
    expect(() => loadConfig({ PORT: 'abc', RMS_SECRET: 'short', LOG_LEVEL: 'verbose' })).toThrow(
      /invalid configuration:\n {2}PORT: .*\n {2}RMS_SECRET: RMS_SECRET must be at least 16 characters\n {2}LOG_LEVEL: /,
    );
  });
});
