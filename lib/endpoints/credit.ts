import { noUserForSession, requireSession } from '#lib/auth/session';
import type { Deps } from '#lib/platform/deps';

/** GET /credit: the caller's balance. */
export async function credit(deps: Deps, token: string | undefined): Promise<{ credit: number }> {
  const session = await requireSession(deps, token);
  const balance = await deps.users.findCredit(session.openid);
  if (balance === undefined) throw noUserForSession();
  return { credit: balance };
}
