import { AppError, type ErrorCode } from '#lib/kernel/errors';
import type { WeChatAnswer } from '#lib/wechat/api';

/** WeChat's numeric errcodes that our code branches on (not to be confused with our own error codes). */
export const ERRCODE = {
  SYSTEM_BUSY: -1,
  ACCESS_TOKEN_INVALID: 40001,
  ACCESS_TOKEN_EXPIRED: 42001,
  /** wxa/checksession: the signature does not match the user's current session_key. */
  INVALID_SIGNATURE: 87009,
} as const;

/** The WeChat server APIs we call; each may mean something of its own by an errcode. */
export type WeChatApiName = 'jscode2session' | 'stable_token' | 'getuserphonenumber' | 'checksession' | 'getuserriskrank' | 'msg_sec_check';

type Outcome = readonly [ErrorCode, string];

/**
 * Faults in our own setup: no retry helps, so the client gets a plain 500 and
 * the log line says what is wrong and what to fix.
 */
const MISCONFIGURATION: Readonly<Record<number, string>> = {
  40002: 'WeChat refused the grant_type (40002): a bug in this backend',
  40013: 'WeChat refused the AppID (40013 invalid appid): check WECHAT_APPID',
  40125:
    'WeChat refused the AppSecret (40125 invalid appsecret): check the SSM parameter named by WECHAT_SECRET_PARAM (or WECHAT_SECRET), and whether the AppSecret was reset in the mini-program console',
  40164: "WeChat refused this caller's IP (40164): switch off the API IP whitelist in the mini-program console, or list the functions' egress IPs",
  41002: 'WeChat says the appid is missing (41002): check WECHAT_APPID',
  41004: 'WeChat says the secret is missing (41004): check the AppSecret source',
  48001: 'WeChat says this AppID may not call this API (48001): check the mini-program type and its permissions in the console',
};

/** What every API means by these. */
const COMMON: Readonly<Record<number, Outcome>> = {
  [ERRCODE.SYSTEM_BUSY]: ['WECHAT_BUSY', 'WeChat is busy: retry in a moment'],
  45011: ['WECHAT_RATE_LIMITED', 'WeChat rate-limited these requests: wait a minute and retry'],
};

/** Per API: what it means by an errcode (over COMMON), and what an errcode of its own that we do not map becomes. */
const PER_API: Readonly<Record<WeChatApiName, { errors: Readonly<Record<number, Outcome>>; otherwise: Outcome }>> = {
  jscode2session: {
    errors: {
      40029: ['INVALID_CODE', 'WeChat rejected the login code: get a fresh one from wx.login() and retry'],
      40163: ['CODE_ALREADY_USED', 'This login code was already used: get a fresh one from wx.login()'],
      40226: ['USER_HIGH_RISK', 'WeChat flagged this user as high-risk; login is refused'],
      45011: ['WECHAT_RATE_LIMITED', "WeChat rate-limited this user's logins: wait a minute and retry"],
    },
    otherwise: ['WECHAT_BAD_RESPONSE', 'WeChat refused the login'],
  },
  getuserphonenumber: {
    errors: {
      40029: [
        'INVALID_CODE',
        'WeChat rejected the code: /phonenumber wants the code from <button open-type="getPhoneNumber"> (e.detail.code), not the one from wx.login(); get a fresh one',
      ],
      40163: ['CODE_ALREADY_USED', 'This phone-number code was already used: ask the user to tap the button again'],
      45009: ['WECHAT_RATE_LIMITED', "WeChat's daily quota for phone numbers is used up: retry tomorrow or raise the quota"],
      45011: ['WECHAT_RATE_LIMITED', 'WeChat rate-limited phone-number requests: wait a minute and retry'],
      // What the getPhoneNumber button reports (errno) once the paid quota is used up; mapped too should WeChat answer it here.
      1400001: [
        'PHONE_QUOTA_EXHAUSTED',
        "This mini-program's phone-number verifications are used up (1400001): hide the phone button until the account buys more quota",
      ],
    },
    otherwise: ['WECHAT_BAD_RESPONSE', 'WeChat refused the phone-number request'],
  },
  // Without an access token no server API can be called: say so, whatever WeChat's reason.
  stable_token: { errors: {}, otherwise: ['WECHAT_BUSY', 'Could not get an access token from WeChat: retry in a moment'] },
  checksession: { errors: {}, otherwise: ['WECHAT_BAD_RESPONSE', 'WeChat could not check the session'] },
  // Never a client's error: a login goes on without the rank (lib/credit/signup.ts); this is what the log says.
  getuserriskrank: { errors: {}, otherwise: ['WECHAT_BAD_RESPONSE', "WeChat could not rate the user's risk"] },
  // Version 1's verdict for risky content was errcode 87014; version 2 answers 0 with result.suggest.
  msg_sec_check: {
    errors: { 87014: ['CONTENT_REJECTED', 'This nickname was refused: choose another one'] },
    otherwise: ['WECHAT_BAD_RESPONSE', 'WeChat could not check the nickname: retry in a moment'],
  },
};

/** The one mapping from a WeChat errcode to the error a client is told (and what the log says). */
export function weChatError(api: WeChatApiName, { errcode, rid }: Pick<WeChatAnswer, 'errcode' | 'rid'>): AppError {
  const detail = { api, errcode, rid };
  const fault = MISCONFIGURATION[errcode];
  if (fault) return new AppError('INTERNAL', 'Something went wrong on our side', { ...detail, fault });
  const own = PER_API[api];
  const known = own.errors[errcode] ?? COMMON[errcode];
  if (known) return new AppError(known[0], known[1], detail);
  return new AppError(own.otherwise[0], `${own.otherwise[1]} (errcode ${errcode})`, detail);
}
