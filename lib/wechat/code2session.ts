import { AppError } from '#lib/errors';
import { badWeChatAnswer, callWeChat, type WeChatAnswer } from '#lib/wechat/http';

export interface WeChatSession {
  openid: string;
  sessionKey: string;
  unionid?: string;
}

export type Code2Session = (code: string) => Promise<WeChatSession>;

export interface Code2SessionOptions {
  apiBase: string;
  appId: string;
  /** The AppSecret, resolved when a request needs it (read from SSM once per instance when deployed). */
  secret: () => Promise<string>;
  /** Bound on each attempt, connection and body included. */
  timeoutMs: number;
  /** Pause before the single retry WeChat's "system busy" (-1) earns. */
  retryDelayMs?: number;
  fetch?: typeof fetch;
}

const DEFAULT_RETRY_DELAY_MS = 200;
/** 16 bytes in canonical base64: what decryption will accept later, so refuse anything else now. */
const SESSION_KEY = /^[A-Za-z0-9+/]{22}==$/;
export const WECHAT_BUSY = -1;

/** Worst case for one exchange: two attempts and the pause between them. */
export const code2SessionBoundMs = (o: Pick<Code2SessionOptions, 'timeoutMs' | 'retryDelayMs'>): number =>
  2 * o.timeoutMs + (o.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS);

/** WeChat's documented jscode2session errcodes, as the contract maps them. */
const KNOWN_ERRORS: Record<number, [AppError['code'], string]> = {
  40029: ['INVALID_CODE', 'WeChat rejected the login code: get a fresh one from wx.login() and retry'],
  40163: ['CODE_ALREADY_USED', 'This login code was already used: get a fresh one from wx.login()'],
  40226: ['USER_HIGH_RISK', 'WeChat flagged this user as high-risk; login is refused'],
  45011: ['WECHAT_RATE_LIMITED', "WeChat rate-limited this user's logins: wait a minute and retry"],
  [WECHAT_BUSY]: ['WECHAT_BUSY', 'WeChat is busy: retry in a moment'],
};

/** Exchanges a wx.login() code for the user's openid and session_key. */
export function createCode2Session(options: Code2SessionOptions): Code2Session {
  const retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const attempt = async (code: string) =>
    callWeChat(
      options,
      '/sns/jscode2session',
      { query: { appid: options.appId, secret: await options.secret(), js_code: code, grant_type: 'authorization_code' } },
      'retry with a fresh code',
    );

  return async (code) => {
    let answer = await attempt(code);
    if (answer.errcode === WECHAT_BUSY) {
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
      answer = await attempt(code);
    }
    if (answer.errcode !== 0) throw toAppError(answer);
    return sessionOf(answer);
  };
}

function sessionOf({ body }: WeChatAnswer): WeChatSession {
  const { openid, session_key: sessionKey, unionid } = body;
  if (typeof openid !== 'string' || !/^[\w-]{1,128}$/.test(openid)) {
    throw badWeChatAnswer({ httpStatus: 200, reason: 'no usable openid' });
  }
  if (typeof sessionKey !== 'string' || !SESSION_KEY.test(sessionKey)) {
    throw badWeChatAnswer({ httpStatus: 200, reason: 'no usable session_key' });
  }
  const session: WeChatSession = { openid, sessionKey };
  if (typeof unionid === 'string' && unionid !== '') session.unionid = unionid;
  return session;
}

function toAppError({ errcode, rid }: WeChatAnswer): AppError {
  const known = KNOWN_ERRORS[errcode];
  if (known) return new AppError(known[0], known[1], { errcode, rid });
  return new AppError('WECHAT_BAD_RESPONSE', `WeChat refused the login (errcode ${errcode})`, { errcode, rid });
}
