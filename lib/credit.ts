import { requireSession } from '#lib/auth/session';
import type { Deps } from '#lib/deps';
import { AppError } from '#lib/errors';

export async function readCredit(deps: Deps, token: string | undefined): Promise<{ credit: number }> {
  const session = await requireSession(deps, token);
  const credit = await deps.store.findCredit(session.openid);
  // Login writes the user with the session, so this means the user was deleted since.
  if (credit === undefined) throw new AppError('SESSION_INVALID', 'No user for this session: log in again');
  return { credit };
}
