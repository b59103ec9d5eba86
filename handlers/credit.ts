import { credit } from '#lib/credit/credit';
import type { LedgerDeps } from '#lib/credit/deps';
import { httpHandler } from '#lib/http/handler';
import { readAppId, readToken } from '#lib/http/request';
import { ledgerDeps } from '#lib/wiring';

/** GET /credit -> {"credit"}; 401 without a live session. */
export const createHandler = (deps: LedgerDeps) => httpHandler('credit', async (event) => credit(deps, readToken(event), readAppId(event)));

export const handler = createHandler(ledgerDeps());
