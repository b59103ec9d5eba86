import { grant, readGrantRequest } from '#lib/endpoints/grant';
import type { LedgerDeps } from '#lib/platform/deps';
import { invokeHandler } from '#lib/platform/invoke-handler';
import { ledgerDeps } from '#lib/platform/wiring';

/**
 * Invoked, not routed: {"appid"?, "openid", "amount", "key", "reason"} -> {"credit", "entry"},
 * or {"err", "code", "status"} for a 4xx; a 5xx fails the invocation (retried when asynchronous). IAM-only.
 */
export const createHandler = (deps: LedgerDeps) => invokeHandler('grant', async (event) => grant(deps, readGrantRequest(event)));

export const handler = createHandler(ledgerDeps());
