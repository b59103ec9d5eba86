import { AppError } from '#lib/kernel/errors';
import { epochSeconds } from '#lib/kernel/time';
import type { Deps } from '#lib/session/deps';
import type { Session } from '#lib/session/session-store';
import { type SessionRef, sessionRef } from '#lib/session/token';
import type { Balance } from '#lib/session/users';

/** The live session a token names, or undefined (no token, junk, unknown, expired, or another app's than `appHint` names). */
export async function findLiveSession(deps: Deps, token: string | undefined, appHint?: string): Promise<Session | undefined> {
  const ref = token === undefined ? undefined : sessionRef(token);
  const session = ref && (await deps.sessions.find(ref, epochSeconds(deps.now)));
  return session && inScope(session, appHint) ? session : undefined;
}

/** A session works in its own app only: a request that names another app (X-WX-AppId) does not get it. */
export const inScope = (session: Session, appHint: string | undefined): boolean => appHint === undefined || appHint === session.appid;

export const otherApp = (): AppError =>
  new AppError('SESSION_INVALID', 'This session belongs to another mini-program: log in from this one (X-WX-AppId names another app)');

/** The session a token must name: a missing token is a 401 that says what to do; junk names no session. */
export function requireRef(token: string | undefined): SessionRef | undefined {
  if (token === undefined) {
    throw new AppError('UNAUTHENTICATED', 'No session token: send "Authorization: Bearer <token>" from /login');
  }
  return sessionRef(token);
}

/** Like findLiveSession, but a missing session is a 401 that says what to do. */
export async function requireSession(deps: Deps, token: string | undefined, appHint?: string): Promise<Session> {
  const ref = requireRef(token);
  const session = ref && (await deps.sessions.find(ref, epochSeconds(deps.now)));
  if (!session) throw sessionInvalid();
  if (!inScope(session, appHint)) throw otherApp();
  return session;
}

export const sessionInvalid = (): AppError => new AppError('SESSION_INVALID', 'The session is unknown or expired: log in again');

/** Login writes the user with the session, so a session without one means the user was deleted since. */
export const noUserForSession = (): AppError => new AppError('SESSION_INVALID', 'No user for this session: log in again');

/** The live session a token names and its user's balance, read together in one round-trip (one BatchGetItem). */
export async function requireSessionWithBalance(
  deps: Deps,
  token: string | undefined,
  appHint?: string,
): Promise<{ session: Session; balance: Balance }> {
  const ref = requireRef(token);
  const found = ref && (await deps.sessions.findWithBalance(ref, epochSeconds(deps.now)));
  if (!found) throw sessionInvalid();
  if (!inScope(found.session, appHint)) throw otherApp();
  if (!found.balance) throw noUserForSession();
  return { session: found.session, balance: found.balance };
}
