import { remainingMs as requestRemainingMs } from '#lib/kernel/deadline';
import { sleep as realSleep, type Waits } from '#lib/kernel/time';

/**
 * The one retry/backoff. Each caller keeps its own bounds (a policy); the formula, the deadline check and the
 * pause are here. After failed try n the pause is full jitter, `random() * min(capMs, baseMs * 2^n)`: writers
 * that failed together do not come back together. A pause is taken only if it, and `reserveMs` after it, fit
 * in the time left; otherwise the caller gives up at once with the failure it has.
 */
export interface BackoffPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  baseMs: number;
  capMs?: number;
  /** Kept free after the pause (for the try itself, the reply). Default 0. */
  reserveMs?: number;
}

/** What a wait is made of; each defaults to the real one, tests inject theirs (lib/wiring.ts WiringOptions). */
export interface Timing extends Waits {
  random?: () => number;
  /** Time left to spend. Default: the request's (lib/kernel/deadline.ts remainingMs). */
  remainingMs?: () => number;
}

export const backoffMs = (policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number =>
  random() * Math.min(policy.capMs ?? Number.POSITIVE_INFINITY, policy.baseMs * 2 ** attempt);

/** After failed try `attempt`: false if no try is left (or no time for the pause), else true once the pause is over. */
export async function pauseBeforeRetry(policy: BackoffPolicy, attempt: number, timing: Timing = {}): Promise<boolean> {
  if (attempt >= policy.attempts) return false;
  const pauseMs = backoffMs(policy, attempt, timing.random);
  if ((timing.remainingMs ?? requestRemainingMs)() <= pauseMs + (policy.reserveMs ?? 0)) return false;
  await (timing.sleep ?? realSleep)(pauseMs);
  return true;
}

/** `attempt(1)`, `attempt(2)`, … until one returns; a failure `retryable` refuses, or the last one, is thrown as it is. */
export async function retrying<T>(
  policy: BackoffPolicy,
  timing: Timing,
  attempt: (n: number) => Promise<T>,
  retryable: (err: unknown) => boolean,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!retryable(err) || !(await pauseBeforeRetry(policy, n, timing))) throw err;
    }
  }
}
