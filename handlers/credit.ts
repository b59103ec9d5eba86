import { credit } from '#lib/endpoints/credit';
import type { Deps } from '#lib/platform/deps';
import { httpHandler } from '#lib/platform/http/handler';
import { readAppId, readToken } from '#lib/platform/http/request';
import { commonDeps } from '#lib/platform/wiring';

/** GET /credit -> {"credit"}; 401 without a live session. */
export const createHandler = (deps: Deps) => httpHandler('credit', async (event) => credit(deps, readToken(event), readAppId(event)));

export const handler = createHandler(commonDeps());
