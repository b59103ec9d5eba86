import { inScope, noUserForSession, otherApp, requireRef, sessionInvalid } from '#lib/auth/session';
import type { Deps } from '#lib/platform/deps';
import { epochSeconds } from '#lib/platform/time';

/** GET /credit: the caller's balance, read with its session in one round-trip. */
export async function credit(deps: Deps, token: string | undefined, appHint?: string): Promise<{ credit: number }> {
  const ref = requireRef(token);
  const found = ref && (await deps.sessions.findWithCredit(ref, epochSeconds(deps.now)));
  if (!found) throw sessionInvalid();
  if (!inScope(found.session, appHint)) throw otherApp();
  if (found.credit === undefined) throw noUserForSession();
  return { credit: found.credit };
}
