import { describe, expect, it, vi } from 'vitest';
import { pollUntil } from '#lib/kernel/time';

// Waits run on an injected sleep and monotonic clock (lib/wiring.ts WiringOptions): a test drives them, never waits.
function fakeTime() {
  let t = 0;
  const sleep = vi.fn(async (ms: number) => {
    t += ms;
  });
  return { sleep, monotonic: () => t, elapsed: () => t };
}

describe('pollUntil on injected time', () => {
  it('probes every interval until the wait is over, on the injected clock only', async () => {
    const time = fakeTime();
    const probe = vi.fn(async () => undefined);
    const started = performance.now();
    expect(await pollUntil(10_000, 1000, probe, time)).toBeUndefined();
    // No probe is started that could not finish before the end: 9 of them, at 1 s … 9 s.
    expect(probe).toHaveBeenCalledTimes(9);
    expect(time.elapsed()).toBe(9000);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('returns what the probe found, as soon as it finds it', async () => {
    const time = fakeTime();
    let n = 0;
    expect(await pollUntil(10_000, 100, async () => (++n === 3 ? 'found' : undefined), time)).toBe('found');
    expect(time.elapsed()).toBe(300);
  });
});
