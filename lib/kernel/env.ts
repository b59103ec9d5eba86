import { ConfigError } from '#lib/kernel/errors';

/** The process environment as configuration reads it (lib/config.ts), or any stand-in for it. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The one whole-number setting: `fallback` when unset or blank, else digits only, from `min` to `max`. */
export function wholeNumber(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}
