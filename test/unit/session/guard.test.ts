import { describe, expect, it, vi } from 'vitest';
import { AppError } from '#lib/kernel/errors';
import { findSessionWith, requireSessionWith, sessionOnly } from '#lib/session/guard';
import type { Session, SessionStore } from '#lib/session/session-store';
import { newSessionToken, sessionRef, userId } from '#lib/session/token';

// The one guard (lib/session/guard.ts): every endpoint's session check, whatever it reads with the session.
const APP = 'wx1234567890abcdef';
const UID = userId(APP, 'o-user');
const live: Session = { uid: UID, appid: APP, openid: 'o-user', sessionKey: 'k', expiresAt: 1_800_000_000 };
const deps = { now: () => 1_700_000_000_000 };

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return err instanceof AppError ? err.code : `no AppError: ${String(err)}`;
}

describe('requireSessionWith(read)', () => {
  it("reads the token's session and its user's part with the read it is given, at the clock's second", async () => {
    const token = newSessionToken(UID);
    const read = vi.fn(async () => ({ session: live, user: { credit: 7 } }));
    expect(await requireSessionWith(deps, token, undefined, read)).toEqual({ session: live, user: { credit: 7 } });
    expect(read).toHaveBeenCalledWith(sessionRef(token), 1_700_000_000);
  });

  it('no token: 401 UNAUTHENTICATED, nothing read', async () => {
    const read = vi.fn(async () => ({ session: live, user: 1 }));
    expect(await codeOf(requireSessionWith(deps, undefined, undefined, read))).toBe('UNAUTHENTICATED');
    expect(read).not.toHaveBeenCalled();
  });

  it('junk: SESSION_INVALID, nothing read', async () => {
    const read = vi.fn(async () => ({ session: live, user: 1 }));
    expect(await codeOf(requireSessionWith(deps, 'junk', undefined, read))).toBe('SESSION_INVALID');
    expect(read).not.toHaveBeenCalled();
  });

  it('unknown or expired: SESSION_INVALID', async () => {
    expect(await codeOf(requireSessionWith(deps, newSessionToken(UID), undefined, async () => undefined))).toBe('SESSION_INVALID');
  });

  it("another app's session: SESSION_INVALID, and the app it names is what decides", async () => {
    const read = async () => ({ session: live, user: 1 });
    expect(await codeOf(requireSessionWith(deps, newSessionToken(UID), 'wxffffffffffffffff', read))).toBe('SESSION_INVALID');
    expect((await requireSessionWith(deps, newSessionToken(UID), APP, read)).session).toEqual(live);
  });

  it('a session without its user (deleted since): SESSION_INVALID', async () => {
    const read = async () => ({ session: live, user: undefined });
    await expect(requireSessionWith(deps, newSessionToken(UID), undefined, read)).rejects.toThrow(/No user for this session/);
  });

  it('sessionOnly reads the session alone (no user read, so none missing)', async () => {
    const find = vi.fn(async () => live);
    const read = sessionOnly({ sessions: { find } as unknown as SessionStore });
    expect((await requireSessionWith(deps, newSessionToken(UID), undefined, read)).session).toEqual(live);
  });
});

describe('findSessionWith(read): the same check, for the routes where no session is an answer (checklogin, logout)', () => {
  it('undefined for no token, junk, unknown, or another app; the session otherwise', async () => {
    const read = async () => ({ session: live, user: null });
    expect(await findSessionWith(deps, undefined, undefined, read)).toBeUndefined();
    expect(await findSessionWith(deps, 'junk', undefined, read)).toBeUndefined();
    expect(await findSessionWith(deps, newSessionToken(UID), undefined, async () => undefined)).toBeUndefined();
    expect(await findSessionWith(deps, newSessionToken(UID), 'wxffffffffffffffff', read)).toBeUndefined();
    expect(await findSessionWith(deps, newSessionToken(UID), APP, read)).toEqual({ session: live, user: null });
  });
});
