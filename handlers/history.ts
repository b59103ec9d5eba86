import { history } from '#lib/endpoints/history';
import type { LedgerDeps } from '#lib/platform/deps';
import { httpHandler } from '#lib/platform/http/handler';
import { readAppId, readToken } from '#lib/platform/http/request';
import { ledgerDeps } from '#lib/platform/wiring';

/** GET /credit/history?limit=&cursor= -> {"entries", "next_cursor"?}, newest first. */
export const createHandler = (deps: LedgerDeps) =>
  httpHandler('history', async (event) =>
    history(deps, readToken(event), { limit: event.queryStringParameters?.limit, cursor: event.queryStringParameters?.cursor }, readAppId(event)),
  );

export const handler = createHandler(ledgerDeps());
