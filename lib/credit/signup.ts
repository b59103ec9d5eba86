import { newBalancePut } from '#lib/credit/balance';
import { signupEntryPut } from '#lib/credit/ledger';
import { remainingMs, withDeadline } from '#lib/kernel/deadline';
import { AppError, ConfigError, isAppError } from '#lib/kernel/errors';
import { type LogFields, logger } from '#lib/kernel/log';
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
  /**
   * 'ranked'; 'skipped' (nothing to ask); when WeChat could not say: 'timeout' (slow), 'unavailable' (busy, down,
   * junk: passes by itself) or 'fault' (our misconfiguration, e.g. 48001 or 40164: lasts until someone fixes it).
   */
  riskCheck: 'ranked' | 'skipped' | RiskCheckFailure;
  /** Why WeChat could not say, as our error code. */
  riskError?: string;
  /** For a 'fault': what is wrong and what to fix (lib/wechat/errcodes.ts), with the WeChat API and errcode. */
  fault?: { fault: string; api?: string; errcode?: number };
}

export type RiskCheckFailure = 'timeout' | 'unavailable' | 'fault';

/** A failed risk check: a fault of our own setup (it carries the text that says what to fix), WeChat being slow, or anything else. */
export function classifyRiskFailure(err: unknown): { riskCheck: RiskCheckFailure; fault?: SignupDecision['fault'] } {
  if (err instanceof ConfigError) return { riskCheck: 'fault', fault: { fault: err.message } };
  if (!isAppError(err)) return { riskCheck: 'unavailable' };
  const { fault, api, errcode } = err.detail;
  if (typeof fault === 'string') {
    return {
      riskCheck: 'fault',
      fault: { fault, ...(typeof api === 'string' ? { api } : {}), ...(typeof errcode === 'number' ? { errcode } : {}) },
    };
  }
  return { riskCheck: err.code === 'WECHAT_TIMEOUT' || err.code === 'DEADLINE_EXCEEDED' ? 'timeout' : 'unavailable' };
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
    // Whatever went wrong (a timeout, WeChat's refusal, its access token, our own misconfiguration), the login goes
    // on and SIGNUP_RISK_UNKNOWN decides; the log says which it was, a fault at error level (lib/session/login.ts).
    const give = risk.whenUnknown === 'grant';
    return {
      amount: give ? amount : 0,
      grant: give ? 'given' : 'held',
      ...classifyRiskFailure(err),
      ...(isAppError(err) ? { riskError: err.code } : err instanceof ConfigError ? { riskError: 'INTERNAL' } : {}),
    };
  }
}

/**
 * What a new user starts with in credit, handed to the login transaction (lib/session) through the wiring:
 * its balance item (the grant, or 0 held back, and the risk rank) and the grant as its first ledger entry, both
 * in credit's own table, written in the login's own transaction. Decided once per new user, with WeChat's risk rank.
 */
export function createSignupStart(
  config: SignupConfig,
  userRiskRank: (appId: string, openid: string, clientIp: string) => ReturnType<UserRiskRank>,
  ledgerTable: string,
) {
  return async (user: NewUser): Promise<NewUserStart> => {
    const signup = await decideSignupGrant(config, (ip) => userRiskRank(user.appid, user.openid, ip), user.clientIp);
    if (signup.fault) {
      // A misconfiguration lasts until someone fixes it, and every new account meanwhile goes by SIGNUP_RISK_UNKNOWN:
      // said at error level, with what to fix, apart from WeChat being slow (the request's own line says riskCheck too).
      logger.error('sign-up risk check misconfigured', {
        endpoint: 'login',
        riskCheck: signup.riskCheck,
        signupGrant: signup.grant,
        ...signup.fault,
      });
    }
    return {
      // Credit's own items, nothing on the user: its balance item (with the risk rank it was decided on) and its first entry.
      attributes: {},
      items: [
        newBalancePut(ledgerTable, user.uid, signup.amount, signup.riskRank),
        signupEntryPut(ledgerTable, user.uid, signup.amount, user.createdAtMs),
      ],
      logFields: signupLogFields(signup),
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
