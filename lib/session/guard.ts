import { AppError } from '#lib/kernel/errors';
import type { Clock } from '#lib/kernel/time';
import { epochSeconds } from '#lib/kernel/time';
import type { Deps } from '#lib/session/deps';
import type { Session } from '#lib/session/session-store';
import { type SessionRef, sessionRef } from '#lib/session/token';

/**
 * What a guard's read found: the live session (undefined: unknown or expired) and what it read of the
 * session's user in the same round-trip: its balance, its profile; `undefined` means the user is gone,
 * `null` that the read did not look (sessionOnly).
 */
export type SessionRead<U> = (ref: SessionRef, nowSeconds: number) => Promise<{ session: Session; user: U | undefined } | undefined>;

/** The session alone: no user is read, so none is missing. */
export const sessionOnly =
  (deps: Pick<Deps, 'sessions'>): SessionRead<null> =>
  async (ref, nowSeconds) => {
    const session = await deps.sessions.find(ref, nowSeconds);
    return session && { session, user: null };
  };

/** A session works in its own app only: a request that names another app (X-WX-AppId) does not get it. */
const inScope = (session: Session, appId: string | undefined): boolean => appId === undefined || appId === session.appid;

const otherApp = (): AppError =>
  new AppError('SESSION_INVALID', 'This session belongs to another mini-program: log in from this one (X-WX-AppId names another app)');

const sessionInvalid = (): AppError => new AppError('SESSION_INVALID', 'The session is unknown or expired: log in again');

/** Login writes the user with the session, so a session without one means the user was deleted since. */
export const noUserForSession = (): AppError => new AppError('SESSION_INVALID', 'No user for this session: log in again');

/**
 * The session a token must name: a missing token is a 401 that says what to do (`whence`: where a token comes
 * from, or which one to send); junk names no session (undefined).
 */
export function requireToken(token: string | undefined, whence = 'from /login'): SessionRef | undefined {
  if (token === undefined) throw new AppError('UNAUTHENTICATED', `No session token: send "Authorization: Bearer <token>" ${whence}`);
  return sessionRef(token);
}

/** The one check: the session `ref` names, read by `read` at the clock's second, in `appId`'s scope, with its user. */
async function check<U>(
  now: Clock,
  ref: SessionRef | undefined,
  appId: string | undefined,
  read: SessionRead<U>,
): Promise<{ session: Session; user: U } | AppError> {
  const found = ref && (await read(ref, epochSeconds(now)));
  if (!found) return sessionInvalid();
  if (!inScope(found.session, appId)) return otherApp();
  if (found.user === undefined) return noUserForSession();
  return { session: found.session, user: found.user };
}

/**
 * The one session guard every endpoint uses: the live session a token names, in the scope of the app the
 * request names (X-WX-AppId), and what `read` read with it. No token is a 401; junk, an unknown or expired
 * session, another app's session or a session whose user is gone are SESSION_INVALID.
 */
export async function requireSessionWith<U>(
  deps: { now: Clock },
  token: string | undefined,
  appId: string | undefined,
  read: SessionRead<U>,
): Promise<{ session: Session; user: U }> {
  const checked = await check(deps.now, requireToken(token), appId, read);
  if (checked instanceof AppError) throw checked;
  return checked;
}

/** The same check for the routes where no session is an answer, not an error (checklogin, logout): undefined. */
export async function findSessionWith<U>(
  deps: { now: Clock },
  token: string | undefined,
  appId: string | undefined,
  read: SessionRead<U>,
): Promise<{ session: Session; user: U } | undefined> {
  const checked = await check(deps.now, token === undefined ? undefined : sessionRef(token), appId, read);
  return checked instanceof AppError ? undefined : checked;
}
