import { describe, expect, it, vi } from 'vitest';
import { SSM_TIMEOUT_MS } from '#lib/aws/ssm';
import type { LoginDeps } from '#lib/session/deps';
import { CODE_MAX_REPLAYS, claimLifetimeMs, codeReplaySeconds, exchangeBoundMs, login } from '#lib/session/login';
import type { LoginCodeStore } from '#lib/session/login-codes';

const config = (wechatTimeoutMs: number) => ({ wechatTimeoutMs, signupRisk: { maxRank: 2, timeoutMs: 1000, whenUnknown: 'grant' as const } });

describe('login code bounds', () => {
  it('an exchange is bounded by the AppSecret read plus WeChat with its one busy retry', () => {
    expect(exchangeBoundMs(config(3000))).toBe(SSM_TIMEOUT_MS + 2 * 3000 + 200);
  });

  it('the replay window is the exchange bound in whole seconds plus 2 s: 10 s by default, 12 s at the 4 s cap, 4 s at the 100 ms floor', () => {
    for (const timeoutMs of [100, 500, 3000, 4000]) {
      expect(codeReplaySeconds(config(timeoutMs))).toBe(Math.ceil(exchangeBoundMs(config(timeoutMs)) / 1000) + 2);
    }
    expect(codeReplaySeconds(config(3000))).toBe(10);
    expect(codeReplaySeconds(config(4000))).toBe(12);
    expect(codeReplaySeconds(config(100))).toBe(4);
  });

  it('a code gives at most two sessions beyond its first', () => {
    expect(CODE_MAX_REPLAYS).toBe(2);
  });

  it("a claim lives from the precise moment, rounded up, for the whole exchange, a new user's risk check and 1 s", async () => {
    expect(claimLifetimeMs(config(3000))).toBe(exchangeBoundMs(config(3000)) + 1000 + 1000);
    // x.999 s: a claim counted from the whole second before would lose almost a second.
    const nowMs = 1_700_000_000_999;
    const claim = vi.fn<LoginCodeStore['claim']>(async () => ({ claimed: true, claimId: 'c' }));
    const deps = {
      config: { ...config(3000), sessionTtlSeconds: 60, initialCredit: 1 },
      now: () => nowMs,
      loginCodes: { claim, release: async () => undefined, spend: async () => undefined },
      apps: { defaultAppId: 'wx1234567890abcdef', find: async (appId: string) => ({ appId, secret: async () => 's' }) },
      code2Session: async () => Promise.reject(new Error('not needed here')),
    } as unknown as LoginDeps;
    await expect(login(deps, { code: 'abc' })).rejects.toThrow();
    const [, nowSeconds, pendingUntil] = claim.mock.calls[0]!;
    expect(nowSeconds).toBe(1_700_000_000);
    expect(pendingUntil * 1000).toBeGreaterThanOrEqual(nowMs + claimLifetimeMs(config(3000)));
    expect(pendingUntil * 1000 - nowMs).toBeLessThan(claimLifetimeMs(config(3000)) + 1000);
  });
});
