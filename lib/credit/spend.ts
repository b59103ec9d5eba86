import * as v from 'valibot';
import type { LedgerDeps } from '#lib/credit/deps';
import { idempotencyKey, reason, spendAmount } from '#lib/credit/fields';
import { ENTRY_KEYS } from '#lib/credit/ledger';
import { type MoveReply, moveReply } from '#lib/credit/replies';
import { requireSessionWith } from '#lib/session/guard';

export const SpendBody = v.object({ amount: spendAmount, key: idempotencyKey, reason: v.optional(reason) });

/** The reason a spend without one is recorded with. */
const DEFAULT_REASON = 'spend';

/**
 * POST /credit/spend: takes `amount` from the caller's balance, once per key. The session and the balance
 * are read in one round-trip, the move written in one transaction (lib/credit/ledger.ts); a retry with the
 * key gets the first reply, a different spend under it 409 IDEMPOTENCY_KEY_REUSED, too little credit 409.
 */
export async function spend(
  deps: LedgerDeps,
  token: string | undefined,
  readBody: () => v.InferOutput<typeof SpendBody>,
  appId?: string,
): Promise<MoveReply> {
  const { session, user: balance } = await requireSessionWith(deps, token, appId, deps.sessionWithBalance);
  // Read after the session: a caller without one learns nothing of its body's faults.
  const body = readBody();
  const move = { entryKey: ENTRY_KEYS.spend(body.key), amount: -body.amount, reason: body.reason ?? DEFAULT_REASON, atMs: deps.now() };
  return moveReply(move, await deps.ledger.apply(session.uid, balance, () => move));
}
