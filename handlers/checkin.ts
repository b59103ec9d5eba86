import { checkin } from '#lib/credit/checkin';
import type { LedgerDeps } from '#lib/credit/deps';
import { httpHandler } from '#lib/http/handler';
import { readAppId, readToken } from '#lib/http/request';
import { checkinDeps } from '#lib/wiring';

/** POST /credit/checkin -> {"credit", "granted", "streak", "day"}; once a day, granted 0 after the first. */
export const createHandler = (deps: LedgerDeps) => httpHandler('checkin', async (event) => checkin(deps, readToken(event), readAppId(event)));

export const handler = createHandler(checkinDeps());
