import { signupEntryPut } from '#lib/credit/ledger';
import { remainingMs, withDeadline } from '#lib/kernel/deadline';
import { AppError, isAppError } from '#lib/kernel/errors';
import type { LogFields } from '#lib/kernel/log';
import type { NewUser, NewUserStart } from '#lib/session/session-store';
import type { UserRiskRank } from '#lib/wechat/risk-rank';

/** The settings of the sign-up grant (INITIAL_CREDIT and the SIGNUP_RISK_* settings). */
export interface SignupConfig {
  initialCredit: number;
  signupRisk: SignupRiskConfig;
}

/** The sign-up grant's fake-account check (WeChat's wxa/getuserriskrank, scene 0, on a user's first login). */
export interface SignupRiskConfig {
  /** Above this risk rank (0-4) the grant is held back; 4 never holds it back, and then WeChat is not asked. */
  maxRank: number;
  /** Bound on the risk call: a login waits no longer for it. */
  timeoutMs: number;
  /** When WeChat cannot say (slow, failing): give the grant or hold it back. */
  whenUnknown: 'grant' | 'hold';
}

/** The sign-up grant a new user gets (0 when held back) and the risk rank WeChat gave it, if asked. */
export interface SignupGrant {
  amount: number;
  riskRank?: number | undefined;
}

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
  config: SignupConfig,
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

/**
 * What a new user starts with in credit, handed to the login transaction (lib/session) through the wiring:
 * its balance (the grant, or 0 held back) and ledger sequence on the user item, and the grant as its first
 * ledger entry, written in the login's own transaction. Decided once per new user, with WeChat's risk rank.
 */
export function createSignupStart(
  config: SignupConfig,
  userRiskRank: (appId: string, openid: string, clientIp: string) => ReturnType<UserRiskRank>,
  ledgerTable: string,
) {
  return async (user: NewUser): Promise<NewUserStart> => {
    const decision = await decideSignupGrant(config, (ip) => userRiskRank(user.appid, user.openid, ip), user.clientIp);
    return {
      attributes: { credit: decision.amount, ledgerSeq: 1, ...(decision.riskRank === undefined ? {} : { signupRiskRank: decision.riskRank }) },
      items: [signupEntryPut(ledgerTable, user.uid, decision.amount, user.createdAtMs)],
      logFields: signupLogFields(decision),
    };
  };
}

/** The risk rank as a number, and what came of the grant; the openid is never logged. */
function signupLogFields(signup: SignupDecision): LogFields {
  return {
    signupGrant: signup.grant,
    riskCheck: signup.riskCheck,
    ...(signup.riskRank !== undefined ? { riskRank: signup.riskRank } : {}),
    ...(signup.riskError ? { riskError: signup.riskError } : {}),
  };
}
