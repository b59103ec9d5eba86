import { describe, expect, it, vi } from 'vitest';
import { withDeadline } from '#lib/kernel/deadline';
import { backoffMs, pauseBeforeRetry, retrying } from '#lib/kernel/retry';

// The one retry/backoff (lib/kernel/retry.ts), driven by an injected sleep, random and time left: no real waits.
const recorded = () => {
  const pauses: number[] = [];
  return { pauses, sleep: vi.fn(async (ms: number) => void pauses.push(ms)) };
};

describe('backoffMs: full jitter up to base * 2^try, capped', () => {
  it('grows by doubling from the first failed try and stops at the cap', () => {
    const policy = { attempts: 9, baseMs: 10, capMs: 100 };
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(policy, n, () => 1))).toEqual([20, 40, 80, 100, 100]);
    expect(backoffMs(policy, 3, () => 0.5)).toBe(40);
    expect(backoffMs({ attempts: 3, baseMs: 20 }, 6, () => 1)).toBe(1280);
  });
});

describe('pauseBeforeRetry', () => {
  it('pauses and says go again while tries and time are left', async () => {
    const { pauses, sleep } = recorded();
    const policy = { attempts: 3, baseMs: 50 };
    const timing = { sleep, random: () => 0.5, remainingMs: () => 10_000 };
    expect(await pauseBeforeRetry(policy, 1, timing)).toBe(true);
    expect(await pauseBeforeRetry(policy, 2, timing)).toBe(true);
    expect(await pauseBeforeRetry(policy, 3, timing)).toBe(false);
    expect(pauses).toEqual([50, 100]);
  });

  it('gives up at once when the pause (and the reserve kept) would not fit in the time left', async () => {
    const { pauses, sleep } = recorded();
    const policy = { attempts: 5, baseMs: 10, capMs: 100, reserveMs: 50 };
    expect(await pauseBeforeRetry(policy, 1, { sleep, random: () => 1, remainingMs: () => 70 })).toBe(false);
    expect(await pauseBeforeRetry(policy, 1, { sleep, random: () => 1, remainingMs: () => 71 })).toBe(true);
    expect(pauses).toEqual([20]);
  });

  it("by default the time left is the request's (lib/kernel/deadline.ts)", async () => {
    const { sleep } = recorded();
    const policy = { attempts: 5, baseMs: 1000 };
    expect(await withDeadline(10, () => pauseBeforeRetry(policy, 1, { sleep, random: () => 1 }))).toBe(false);
    expect(await withDeadline(60_000, () => pauseBeforeRetry(policy, 1, { sleep, random: () => 1 }))).toBe(true);
    expect(sleep).toHaveBeenCalledTimes(1);
  });
});

describe('retrying', () => {
  it('returns the first success, pausing between failed tries that are worth another', async () => {
    const { pauses, sleep } = recorded();
    const attempt = vi.fn(async (n: number) => {
      if (n < 3) throw new Error('busy');
      return `done at ${n}`;
    });
    const result = await retrying({ attempts: 3, baseMs: 10 }, { sleep, random: () => 1, remainingMs: () => 1000 }, attempt, () => true);
    expect(result).toBe('done at 3');
    expect(pauses).toEqual([20, 40]);
  });

  it('throws a failure not worth another try at once, and the last one when tries run out', async () => {
    const { sleep } = recorded();
    const fatal = new Error('fatal');
    await expect(
      retrying(
        { attempts: 3, baseMs: 10 },
        { sleep },
        async () => Promise.reject(fatal),
        () => false,
      ),
    ).rejects.toBe(fatal);
    expect(sleep).not.toHaveBeenCalled();
    let n = 0;
    await expect(
      retrying(
        { attempts: 3, baseMs: 10 },
        { sleep, remainingMs: () => 1000 },
        async () => Promise.reject(new Error(`try ${++n}`)),
        () => true,
      ),
    ).rejects.toThrow('try 3');
    expect(sleep).toHaveBeenCalledTimes(2);
  });
});
