import { boundedMs } from '#lib/kernel/deadline';

/** Milliseconds since the epoch; injected (deps.now) so that expiry is testable without sleeping. */
export type Clock = () => number;

export const epochSeconds = (now: Clock): number => Math.floor(now() / 1000);

/** A pause; injected (WiringOptions.sleep) so that tests drive waits instead of waiting. */
export type Sleep = (ms: number) => Promise<void>;

export const sleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What every wait in lib/ runs on: a pause and a monotonic clock (ms, for how long a wait has lasted), both
 * injected by the wiring (WiringOptions.sleep, .monotonic) so that tests drive waits instead of waiting. Unset:
 * the real ones (a timer, performance.now()).
 */
export interface Waits {
  sleep?: Sleep;
  monotonic?: () => number;
}

/**
 * Calls `probe` every `intervalMs` until it returns a value or `waitMs` have passed (then undefined). Waiting
 * is measured on the monotonic clock of `waits`, not on the wall clock (deps.now): a test's frozen wall clock
 * would otherwise make every wait endless, and how long we wait for another request is a property of the
 * platform, not of the data. The wait also ends at the request's deadline.
 */
export async function pollUntil<T>(
  waitMs: number,
  intervalMs: number,
  probe: () => Promise<T | undefined>,
  waits: Waits = {},
): Promise<T | undefined> {
  const monotonic = waits.monotonic ?? (() => performance.now());
  const pause = waits.sleep ?? sleep;
  const deadline = monotonic() + boundedMs(waitMs);
  // No probe is started that could not finish before the deadline: its read would only be aborted.
  while (monotonic() + intervalMs < deadline) {
    await pause(intervalMs);
    const found = await probe();
    if (found !== undefined) return found;
  }
  return undefined;
}
