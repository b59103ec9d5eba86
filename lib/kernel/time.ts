import { boundedMs } from '#lib/kernel/deadline';

/** Milliseconds since the epoch; injected (deps.now) so that expiry is testable without sleeping. */
export type Clock = () => number;

export const epochSeconds = (now: Clock): number => Math.floor(now() / 1000);

/** A pause; injected (WiringOptions.sleep) so that tests drive waits instead of waiting. */
export type Sleep = (ms: number) => Promise<void>;

export const sleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `probe` every `intervalMs` until it returns a value or `waitMs` of real
 * time have passed (then undefined). Waiting is measured on the real clock, not
 * the injected one: a test's frozen clock would otherwise make every wait endless,
 * and how long we wait for another request is a property of the platform, not of the data.
 * The wait also ends at the request's deadline.
 */
export async function pollUntil<T>(waitMs: number, intervalMs: number, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = performance.now() + boundedMs(waitMs);
  // No probe is started that could not finish before the deadline: its read would only be aborted.
  while (performance.now() + intervalMs < deadline) {
    await sleep(intervalMs);
    const found = await probe();
    if (found !== undefined) return found;
  }
  return undefined;
}
