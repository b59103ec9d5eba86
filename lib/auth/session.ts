import { hashSessionToken, looksLikeSessionToken } from '#lib/auth/token';
import { type Deps, epochSeconds, type WeChatApiDeps } from '#lib/deps';
import { AppError } from '#lib/errors';
import type { Session } from '#lib/store/store';

/** The live session a token names, or undefined (no token, junk, unknown or expired). */
export async function findLiveSession(deps: Deps, token: string | undefined): Promise<Session | undefined> {
  if (token === undefined || !looksLikeSessionToken(token)) return undefined;
  return deps.store.findSession(hashSessionToken(token), epochSeconds(deps));
}

/** Like findLiveSession, but a missing session is a 401 that says what to do. */
export async function requireSession(deps: Deps, token: string | undefined): Promise<Session> {
  if (token === undefined) {
    throw new AppError('UNAUTHENTICATED', 'No session token: send "Authorization: Bearer <token>" from /login');
  }
  const session = await findLiveSession(deps, token);
  if (!session) throw new AppError('SESSION_INVALID', 'The session is unknown or expired: log in again');
  return session;
}

export interface CheckLoginReply {
  is_login: boolean;
  /** Only with ?verify=wechat, for a live session: whether WeChat still accepts its session_key. */
  session_key_valid?: boolean;
}

/** Is the token a live session? With `verify`, also asks WeChat whether its session_key is still current. */
export async function checkLogin(
  deps: Deps & Pick<WeChatApiDeps, 'checkSessionKey'>,
  token: string | undefined,
  verify = false,
): Promise<CheckLoginReply> {
  const session = await findLiveSession(deps, token);
  if (!session) return { is_login: false };
  if (!verify) return { is_login: true };
  return { is_login: true, session_key_valid: await deps.checkSessionKey(session.openid, session.sessionKey) };
}
