import { readCredit } from '#lib/credit';
import type { Deps } from '#lib/deps';
import { httpHandler } from '#lib/http/handler';
import { readToken } from '#lib/http/request';
import { productionDeps } from '#lib/runtime';

/** GET /credit -> {"credit"}; 401 without a live session. */
export const createHandler = (deps: Deps) => httpHandler('credit', (event) => readCredit(deps, readToken(event)));

export const handler = createHandler(productionDeps());
