import { describe, expect, it, vi } from 'vitest';
import { logout } from '#lib/auth/logout';
import { hashSessionToken, newSessionToken } from '#lib/auth/token';
import type { Deps } from '#lib/deps';
import type { Store } from '#lib/store/store';

// The index behind revokeAllSessions is eventually consistent. DynamoDB Local updates it at once,
// so the lag is played by a store stub here; test/integration/logout.test.ts runs the real one.
function depsWith(store: Partial<Store>): Deps {
  return { config: {} as Deps['config'], now: () => 1_700_000_000_000, store: store as Store };
}

const live = { openid: 'o-user', sessionKey: 'k', expiresAt: 1_800_000_000 };

describe('POST /logout?all=1', () => {
  it("ends the caller's own session by its key even when the index does not list it yet", async () => {
    const token = newSessionToken();
    const revokeSession = vi.fn(async () => true);
    const revokeAllSessions = vi.fn(async () => 0);
    const reply = await logout(depsWith({ findSession: async () => live, revokeSession, revokeAllSessions }), token, true);
    expect(revokeSession).toHaveBeenCalledWith(hashSessionToken(token));
    expect(revokeAllSessions).toHaveBeenCalledWith('o-user');
    expect(reply).toEqual({ logged_out: true, sessions_revoked: 1 });
  });

  it('counts a session that both deletes reach once', async () => {
    // The index listed the caller's session too and its delete got there first.
    const deps = depsWith({ findSession: async () => live, revokeSession: async () => false, revokeAllSessions: async () => 3 });
    expect(await logout(deps, newSessionToken(), true)).toEqual({ logged_out: true, sessions_revoked: 3 });
  });

  it('deletes nothing for a token whose session is gone', async () => {
    const revokeAllSessions = vi.fn(async () => 0);
    const deps = depsWith({ findSession: async () => undefined, revokeSession: vi.fn(), revokeAllSessions });
    expect(await logout(deps, newSessionToken(), true)).toEqual({ logged_out: true, sessions_revoked: 0 });
    expect(revokeAllSessions).not.toHaveBeenCalled();
  });
});
