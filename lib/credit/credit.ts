import type { Deps } from '#lib/session/deps';
import { requireSessionWithBalance } from '#lib/session/guard';

/** GET /credit: the caller's balance, read with its session in one round-trip. */
export async function credit(deps: Deps, token: string | undefined, appHint?: string): Promise<{ credit: number }> {
  const { balance } = await requireSessionWithBalance(deps, token, appHint);
  return { credit: balance.credit };
}
