import { credit } from '#lib/credit/credit';
import { httpHandler } from '#lib/http/handler';
import { readAppId, readToken } from '#lib/http/request';
import type { Deps } from '#lib/session/deps';
import { commonDeps } from '#lib/wiring';

/** GET /credit -> {"credit"}; 401 without a live session. */
export const createHandler = (deps: Deps) => httpHandler('credit', async (event) => credit(deps, readToken(event), readAppId(event)));

export const handler = createHandler(commonDeps());
