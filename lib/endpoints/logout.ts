import { findLiveSession } from '#lib/auth/session';
import { hashSessionToken, looksLikeSessionToken } from '#lib/auth/token';
import type { Deps } from '#lib/platform/deps';
import { AppError } from '#lib/platform/errors';
import { epochSeconds } from '#lib/platform/time';

export interface LogoutReply {
  logged_out: true;
  /** Sessions this call ended (0 when the token was already gone or expired: logging out twice is fine). */
  sessions_revoked: number;
}

/**
 * POST /logout: ends the caller's session, or with `all` every session of the
 * caller's user (e.g. "log out everywhere" after a lost phone). Idempotent.
 */
export async function logout(deps: Deps, token: string | undefined, all: boolean): Promise<LogoutReply> {
  if (token === undefined) {
    throw new AppError('UNAUTHENTICATED', 'No session token: send "Authorization: Bearer <token>" of the session to end');
  }
  if (!looksLikeSessionToken(token)) return { logged_out: true, sessions_revoked: 0 };
  const tokenHash = hashSessionToken(token);
  const nowSeconds = epochSeconds(deps.now);
  if (!all) {
    const revoked = await deps.sessions.revoke(tokenHash, nowSeconds);
    return { logged_out: true, sessions_revoked: revoked ? 1 : 0 };
  }
  const session = await findLiveSession(deps, token);
  if (!session) return { logged_out: true, sessions_revoked: 0 };
  // The index that lists a user's sessions is eventually consistent and may miss one made a moment
  // ago, so the caller's own session also goes by its key. Each store call counts only what it deleted.
  // The user's codes stop giving sessions before the index is read, so that a retry of one (a stolen
  // one, say) cannot make a session the deletes miss: a replay's transaction checks that mark.
  const [own, others] = await Promise.all([
    deps.sessions.revoke(tokenHash, nowSeconds),
    deps.users.endCodeReplays(session.openid, deps.now()).then(() => deps.sessions.revokeAll(session.openid, nowSeconds)),
  ]);
  return { logged_out: true, sessions_revoked: (own ? 1 : 0) + others };
}
