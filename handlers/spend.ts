import type { LedgerDeps } from '#lib/credit/deps';
import { SpendBody, spend } from '#lib/credit/spend';
import { httpHandler } from '#lib/http/handler';
import { bodyReader, readAppId, readToken } from '#lib/http/request';
import { ledgerDeps } from '#lib/wiring';

/** POST /credit/spend {"amount", "key", "reason"?} -> {"credit", "entry"}; 409 INSUFFICIENT_CREDIT or IDEMPOTENCY_KEY_REUSED. */
export const createHandler = (deps: LedgerDeps) =>
  httpHandler('spend', async (event) => spend(deps, readToken(event), bodyReader(event, SpendBody), readAppId(event)));

export const handler = createHandler(ledgerDeps());
