import * as v from 'valibot';
import { appIdField } from '#lib/apps/registry';
import type { LedgerDeps } from '#lib/credit/deps';
import { grantAmount, idempotencyKey, reason } from '#lib/credit/fields';
import { ENTRY_KEYS } from '#lib/credit/ledger';
import { type MoveReply, moveReply } from '#lib/credit/replies';
import { validated } from '#lib/http/request';
import { AppError } from '#lib/kernel/errors';
import { userId } from '#lib/session/token';

export const GrantRequest = v.object({
  /** The user's mini-program; the deployment's default app (WECHAT_APPID) when absent. */
  appid: v.optional(appIdField('appid')),
  openid: v.pipe(v.string('openid must be a string'), v.regex(/^[A-Za-z0-9_-]{1,128}$/, 'openid must be an openid, as WeChat gives it')),
  amount: grantAmount,
  key: idempotencyKey,
  reason,
});

/**
 * The team's own services move points (an order paid, a refund, a prize): positive grants, negative
 * deducts, never below zero, once per key. No public route: the credit-grant function is invoked with
 * the AWS SDK by principals allowed lambda:InvokeFunction on it, and `npm run admin` runs this same code.
 */
export async function grant(deps: LedgerDeps, request: v.InferOutput<typeof GrantRequest>): Promise<MoveReply> {
  const uid = userId(request.appid ?? deps.config.appId, request.openid);
  const balance = await deps.balances.find(uid);
  if (!balance) throw new AppError('USER_NOT_FOUND', 'No such user: it has never logged in to this mini-program');
  const move = { entryKey: ENTRY_KEYS.grant(request.key), amount: request.amount, reason: request.reason, atMs: deps.now() };
  return moveReply(move, await deps.ledger.apply(uid, balance, () => move));
}

/** The grant's event, checked like an HTTP body: every failure a 400 that names what is wrong. */
export const readGrantRequest = (event: unknown): v.InferOutput<typeof GrantRequest> => validated(GrantRequest, event);
