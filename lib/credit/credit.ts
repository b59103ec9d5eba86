import type { Deps } from '#lib/session/deps';
import { requireSessionWith, sessionWithBalance } from '#lib/session/guard';

/** GET /credit: the caller's balance, read with its session in one round-trip. */
export async function credit(deps: Deps, token: string | undefined, appId?: string): Promise<{ credit: number }> {
  const { user: balance } = await requireSessionWith(deps, token, appId, sessionWithBalance(deps));
  return { credit: balance.credit };
}
