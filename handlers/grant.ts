import type { LedgerDeps } from '#lib/credit/deps';
import { grant, readGrantRequest } from '#lib/credit/grant';
import { invokeHandler } from '#lib/http/invoke';
import { ledgerDeps } from '#lib/wiring';

/**
 * Invoked, not routed: {"appid"?, "openid", "amount", "key", "reason"} -> {"credit", "entry"},
 * or {"err", "code", "status"} for a 4xx; a 5xx fails the invocation (retried when asynchronous). IAM-only.
 */
export const createHandler = (deps: LedgerDeps) => invokeHandler('grant', async (event) => grant(deps, readGrantRequest(event)));

export const handler = createHandler(ledgerDeps());
