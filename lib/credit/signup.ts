import type { Config } from '#lib/platform/config';
import { remainingMs, withDeadline } from '#lib/platform/deadline';
import { AppError, isAppError } from '#lib/platform/errors';
import type { SignupGrant } from '#lib/store/sessions';
import type { UserRiskRank } from '#lib/wechat/risk-rank';

/** Kept back from the risk call's share of the request, for the login transaction that follows it. */
const TRANSACTION_RESERVE_MS = 1000;

/** What the log line says of a sign-up grant: the rank as a number (never with the openid), and whether it was given. */
export interface SignupDecision extends SignupGrant {
  /** 'given', 'held' (risk rank above the limit), or the same when WeChat could not say (then riskRank is absent). */
  grant: 'given' | 'held';
  riskCheck: 'ranked' | 'unknown' | 'skipped';
  /** Why WeChat could not say, as our error code. */
  riskError?: string;
}

/**
 * The sign-up grant of a new user: INITIAL_CREDIT, held back (0) when WeChat's risk rank for the
 * registration is above SIGNUP_MAX_RISK_RANK. The risk call is bounded (SIGNUP_RISK_TIMEOUT_MS, and the
 * request's own deadline); when it is slow or fails, SIGNUP_RISK_UNKNOWN decides, and the login goes on.
 */
export async function decideSignupGrant(
  config: Pick<Config, 'initialCredit' | 'signupRisk'>,
  riskRank: (clientIp: string) => ReturnType<UserRiskRank>,
  clientIp: string | undefined,
): Promise<SignupDecision> {
  const amount = config.initialCredit;
  const risk = config.signupRisk;
  // Nothing to hold back, nothing to hold it back for, or no IP to ask with (WeChat requires one).
  if (amount === 0 || risk.maxRank >= 4 || !clientIp) return { amount, grant: 'given', riskCheck: 'skipped' };
  try {
    const budgetMs = Math.min(risk.timeoutMs, remainingMs() - TRANSACTION_RESERVE_MS);
    if (budgetMs <= 0) throw new AppError('DEADLINE_EXCEEDED', 'No time left for the risk check');
    const rank = await withDeadline(budgetMs, () => riskRank(clientIp));
    const held = rank > risk.maxRank;
    return { amount: held ? 0 : amount, riskRank: rank, grant: held ? 'held' : 'given', riskCheck: 'ranked' };
  } catch (err) {
    // Whatever went wrong (a timeout, WeChat's refusal, its access token), the login goes on: the log says why.
    const give = risk.whenUnknown === 'grant';
    return { amount: give ? amount : 0, grant: give ? 'given' : 'held', riskCheck: 'unknown', ...(isAppError(err) ? { riskError: err.code } : {}) };
  }
}
