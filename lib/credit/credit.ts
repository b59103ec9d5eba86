import type { LedgerDeps } from '#lib/credit/deps';
import { requireSessionWith } from '#lib/session/guard';

/** GET /credit: the caller's balance, read with its session in one round-trip. */
export async function credit(deps: LedgerDeps, token: string | undefined, appId?: string): Promise<{ credit: number }> {
  const { user: balance } = await requireSessionWith(deps, token, appId, deps.sessionWithBalance);
  return { credit: balance.credit };
}
