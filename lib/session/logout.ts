import { epochSeconds } from '#lib/kernel/time';
import type { Deps } from '#lib/session/deps';
import { findSessionWith, requireToken, sessionOnly } from '#lib/session/guard';

export interface LogoutReply {
  logged_out: true;
  /** Sessions this call ended (0 when the token was already gone or expired: logging out twice is fine). */
  sessions_revoked: number;
}

/**
 * POST /logout: ends the caller's session, or with `all` every session of the
 * caller's user (e.g. "log out everywhere" after a lost phone). Idempotent.
 */
export async function logout(deps: Deps, token: string | undefined, all: boolean, appId?: string): Promise<LogoutReply> {
  const ref = requireToken(token, 'of the session to end');
  if (!ref) return { logged_out: true, sessions_revoked: 0 };
  const nowSeconds = epochSeconds(deps.now);
  if (!all) {
    const revoked = await deps.sessions.revoke(ref, nowSeconds);
    return { logged_out: true, sessions_revoked: revoked ? 1 : 0 };
  }
  const { session } = (await findSessionWith(deps, token, appId, sessionOnly(deps))) ?? {};
  if (!session) return { logged_out: true, sessions_revoked: 0 };
  // The user's codes stop giving sessions before their sessions are listed, so that a retry of one
  // (a stolen one, say) cannot make a session the deletes miss: a replay's transaction checks that mark.
  // The list is one strongly consistent Query of the user's partition: it includes the caller's own session.
  await deps.users.endCodeReplays(session.uid, deps.now());
  return { logged_out: true, sessions_revoked: await deps.sessions.revokeAll(session.uid, nowSeconds) };
}
