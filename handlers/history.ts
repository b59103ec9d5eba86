import type { LedgerDeps } from '#lib/credit/deps';
import { history } from '#lib/credit/history';
import { httpHandler } from '#lib/http/handler';
import { readAppId, readToken } from '#lib/http/request';
import { ledgerDeps } from '#lib/wiring';

/** GET /credit/history?limit=&cursor= -> {"entries", "next_cursor"?}, newest first. */
export const createHandler = (deps: LedgerDeps) =>
  httpHandler('history', async (event) =>
    history(deps, readToken(event), { limit: event.queryStringParameters?.limit, cursor: event.queryStringParameters?.cursor }, readAppId(event)),
  );

export const handler = createHandler(ledgerDeps());
