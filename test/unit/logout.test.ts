import { describe, expect, it, vi } from 'vitest';
import { hashSessionToken, newSessionToken } from '#lib/auth/token';
import { logout } from '#lib/endpoints/logout';
import type { Deps } from '#lib/platform/deps';
import type { SessionStore } from '#lib/store/sessions';
import type { UserStore } from '#lib/store/users';

// The index behind revokeAll is eventually consistent. DynamoDB Local updates it at once,
// so the lag is played by a store stub here; test/integration/logout.test.ts runs the real one.
function depsWith(sessions: Partial<SessionStore>, users: Partial<UserStore> = { endCodeReplays: async () => undefined }): Deps {
  return { config: {} as Deps['config'], now: () => 1_700_000_000_000, sessions: sessions as SessionStore, users: users as UserStore };
}

const live = { openid: 'o-user', sessionKey: 'k', expiresAt: 1_800_000_000 };

describe('POST /logout?all=1', () => {
  it("ends the caller's own session by its key even when the index does not list it yet", async () => {
    const token = newSessionToken();
    const revoke = vi.fn(async () => true);
    const revokeAll = vi.fn(async () => 0);
    const reply = await logout(depsWith({ find: async () => live, revoke, revokeAll }), token, true);
    expect(revoke).toHaveBeenCalledWith(hashSessionToken(token), 1_700_000_000);
    expect(revokeAll).toHaveBeenCalledWith('o-user', 1_700_000_000);
    expect(reply).toEqual({ logged_out: true, sessions_revoked: 1 });
  });

  it('counts a session that both deletes reach once', async () => {
    // The index listed the caller's session too and its delete got there first.
    const deps = depsWith({ find: async () => live, revoke: async () => false, revokeAll: async () => 3 });
    expect(await logout(deps, newSessionToken(), true)).toEqual({ logged_out: true, sessions_revoked: 3 });
  });

  it("ends the replay window of the user's codes before it lists the user's sessions", async () => {
    const order: string[] = [];
    const endCodeReplays = vi.fn(async () => void order.push('end replays'));
    const sessions = {
      find: async () => live,
      revoke: async () => Boolean(order.push('revoke')),
      revokeAll: async () => order.push('revokeAll') && 0,
    };
    await logout(depsWith(sessions, { endCodeReplays }), newSessionToken(), true);
    expect(endCodeReplays).toHaveBeenCalledWith('o-user', 1_700_000_000_000);
    expect(order.indexOf('end replays')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('end replays')).toBeLessThan(order.indexOf('revokeAll'));
  });

  it('deletes nothing for a token whose session is gone', async () => {
    const revokeAll = vi.fn(async () => 0);
    const deps = depsWith({ find: async () => undefined, revoke: vi.fn(), revokeAll });
    expect(await logout(deps, newSessionToken(), true)).toEqual({ logged_out: true, sessions_revoked: 0 });
    expect(revokeAll).not.toHaveBeenCalled();
  });
});
