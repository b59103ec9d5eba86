import { SpendBody, spend } from '#lib/endpoints/spend';
import type { LedgerDeps } from '#lib/platform/deps';
import { httpHandler } from '#lib/platform/http/handler';
import { bodyReader, readAppId, readToken } from '#lib/platform/http/request';
import { ledgerDeps } from '#lib/platform/wiring';

/** POST /credit/spend {"amount", "key", "reason"?} -> {"credit", "entry"}; 409 INSUFFICIENT_CREDIT or IDEMPOTENCY_KEY_REUSED. */
export const createHandler = (deps: LedgerDeps) =>
  httpHandler('spend', (event) => spend(deps, readToken(event), bodyReader(event, SpendBody), readAppId(event)));

export const handler = createHandler(ledgerDeps());
