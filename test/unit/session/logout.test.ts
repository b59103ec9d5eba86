import { describe, expect, it, vi } from 'vitest';
import type { Deps } from '#lib/session/deps';
import { logout } from '#lib/session/logout';
import type { SessionStore } from '#lib/session/session-store';
import { newSessionToken as newToken, sessionRef, userId } from '#lib/session/token';
import type { UserStore } from '#lib/session/users';

// The order of the store calls, played by a stub; test/integration/logout.test.ts runs the real store.
function depsWith(sessions: Partial<SessionStore>, users: Partial<UserStore> = { endCodeReplays: async () => undefined }): Deps {
  return { config: {} as Deps['config'], now: () => 1_700_000_000_000, sessions: sessions as SessionStore, users: users as UserStore };
}

const UID = userId('wx1234567890abcdef', 'o-user');
const newSessionToken = () => newToken(UID);
const live = { uid: UID, appid: 'wx1234567890abcdef', openid: 'o-user', sessionKey: 'k', expiresAt: 1_800_000_000 };

describe('POST /logout?all=1', () => {
  it("lists the user's sessions by the key its token names (one strongly consistent Query includes the caller's own): counted once", async () => {
    const token = newSessionToken();
    const find = vi.fn(async () => live);
    const revoke = vi.fn(async () => true);
    const revokeAll = vi.fn(async () => 3);
    const reply = await logout(depsWith({ find, revoke, revokeAll }), token, true);
    expect(find).toHaveBeenCalledWith(sessionRef(token), 1_700_000_000);
    expect(revokeAll).toHaveBeenCalledWith(UID, 1_700_000_000);
    expect(revoke).not.toHaveBeenCalled();
    expect(reply).toEqual({ logged_out: true, sessions_revoked: 3 });
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
    expect(endCodeReplays).toHaveBeenCalledWith(UID, 1_700_000_000_000);
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
