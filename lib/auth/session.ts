import { hashSessionToken, looksLikeSessionToken } from '#lib/auth/token';
import type { Deps } from '#lib/platform/deps';
import { AppError } from '#lib/platform/errors';
import { epochSeconds } from '#lib/platform/time';
import type { Session } from '#lib/store/sessions';

/** The live session a token names, or undefined (no token, junk, unknown or expired). */
export async function findLiveSession(deps: Deps, token: string | undefined): Promise<Session | undefined> {
  if (token === undefined || !looksLikeSessionToken(token)) return undefined;
  return deps.sessions.find(hashSessionToken(token), epochSeconds(deps.now));
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

/** Login writes the user with the session, so a session without one means the user was deleted since. */
export const noUserForSession = (): AppError => new AppError('SESSION_INVALID', 'No user for this session: log in again');
