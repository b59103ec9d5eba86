import { checkin } from '#lib/endpoints/checkin';
import type { LedgerDeps } from '#lib/platform/deps';
import { httpHandler } from '#lib/platform/http/handler';
import { readAppId, readToken } from '#lib/platform/http/request';
import { checkinDeps } from '#lib/platform/wiring';

/** POST /credit/checkin -> {"credit", "granted", "streak", "day"}; once a day, granted 0 after the first. */
export const createHandler = (deps: LedgerDeps) => httpHandler('checkin', async (event) => checkin(deps, readToken(event), readAppId(event)));

export const handler = createHandler(checkinDeps());
