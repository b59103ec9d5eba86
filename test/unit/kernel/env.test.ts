import { describe, expect, it } from 'vitest';
import { wholeNumber } from '#lib/kernel/env';
import { ConfigError } from '#lib/kernel/errors';

// The one whole-number setting parser (lib/kernel/env.ts), used by lib/config.ts and lib/apps/registry.ts.
describe('wholeNumber', () => {
  it('the fallback when unset or blank; the number when whole and in range', () => {
    expect(wholeNumber({}, 'N', 60, 1, 3600)).toBe(60);
    expect(wholeNumber({ N: '  ' }, 'N', 60, 1, 3600)).toBe(60);
    expect(wholeNumber({ N: ' 30 ' }, 'N', 60, 1, 3600)).toBe(30);
    expect(wholeNumber({ N: '3600' }, 'N', 60, 1, 3600)).toBe(3600);
  });

  it.each(['0', '3601', '1.5', '-1', '1e3', 'sixty'])('refuses %s, naming the setting and its range', (raw) => {
    expect(() => wholeNumber({ N: raw }, 'N', 60, 1, 3600)).toThrow(ConfigError);
    expect(() => wholeNumber({ N: raw }, 'N', 60, 1, 3600)).toThrow(`N must be a whole number from 1 to 3600, got "${raw}"`);
  });
});
