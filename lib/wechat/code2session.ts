import { AppError } from '#lib/errors';

export interface WeChatSession {
  openid: string;
  sessionKey: string;
  unionid?: string;
}

export type Code2Session = (code: string) => Promise<WeChatSession>;

export interface Code2SessionOptions {
  apiBase: string;
  appId: string;
  secret: string;
  /** Bound on each attempt, connection and body included. */
  timeoutMs: number;
  /** Pause before the single retry WeChat's "system busy" (-1) earns. */
  retryDelayMs?: number;
  fetch?: typeof fetch;
}

/** Worst case for one exchange: two attempts and the pause between them. */
export const code2SessionBoundMs = (o: Pick<Code2SessionOptions, 'timeoutMs' | 'retryDelayMs'>): number =>
  2 * o.timeoutMs + (o.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS);

const DEFAULT_RETRY_DELAY_MS = 200;
/** 16 bytes in canonical base64: what decryption will accept later, so refuse anything else now. */
const SESSION_KEY = /^[A-Za-z0-9+/]{22}==$/;
const BUSY = -1;

/** WeChat's documented jscode2session errcodes, as the contract maps them. */
const KNOWN_ERRORS: Record<number, [AppError['code'], string]> = {
  40029: ['INVALID_CODE', 'WeChat rejected the login code: get a fresh one from wx.login() and retry'],
  40163: ['CODE_ALREADY_USED', 'This login code was already used: get a fresh one from wx.login()'],
  40226: ['USER_HIGH_RISK', 'WeChat flagged this user as high-risk; login is refused'],
  45011: ['WECHAT_RATE_LIMITED', 'WeChat rate-limited this user\'s logins: wait a minute and retry'],
  [BUSY]: ['WECHAT_BUSY', 'WeChat is busy: retry in a moment'],
};

/** Exchanges a wx.login() code for the user's openid and session_key. */
export function createCode2Session(options: Code2SessionOptions): Code2Session {
  const doFetch = options.fetch ?? fetch;
  const retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const endpoint = `${options.apiBase}/sns/jscode2session`;

  const attempt = async (code: string): Promise<WeChatSession | WeChatFailure> => {
    const url = `${endpoint}?${new URLSearchParams({
      appid: options.appId,
      secret: options.secret,
      js_code: code,
      grant_type: 'authorization_code',
    })}`;
    let status: number;
    let text: string;
    try {
      const response = await doFetch(url, { signal: AbortSignal.timeout(options.timeoutMs) });
      status = response.status;
      text = await response.text();
    } catch (err) {
      // Never attach `err` as cause: undici's errors can quote the URL, which holds the secret.
      if (isTimeout(err)) {
        throw new AppError('WECHAT_TIMEOUT', 'WeChat did not answer in time: retry with a fresh code', {
          timeoutMs: options.timeoutMs,
        });
      }
      throw new AppError('WECHAT_UNREACHABLE', 'Could not reach WeChat: retry with a fresh code', {
        reason: networkReason(err),
      });
    }
    return parseAnswer(status, text);
  };

  return async (code) => {
    let result = await attempt(code);
    if (isFailure(result) && result.errcode === BUSY) {
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
      result = await attempt(code);
    }
    if (isFailure(result)) throw toAppError(result);
    return result;
  };
}

interface WeChatFailure {
  errcode: number;
  rid: string | undefined;
}

const isFailure = (value: WeChatSession | WeChatFailure): value is WeChatFailure => 'errcode' in value;

function parseAnswer(status: number, text: string): WeChatSession | WeChatFailure {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badResponse({ httpStatus: status, reason: 'not JSON', length: text.length });
  }
  if (typeof body !== 'object' || body === null) throw badResponse({ httpStatus: status, reason: 'not an object' });
  const answer = body as Record<string, unknown>;

  if (answer.errcode !== undefined && answer.errcode !== 0) {
    if (typeof answer.errcode !== 'number') throw badResponse({ httpStatus: status, reason: 'errcode not a number' });
    return { errcode: answer.errcode, rid: ridOf(answer.errmsg) };
  }
  const { openid, session_key: sessionKey, unionid } = answer;
  if (typeof openid !== 'string' || !/^[\w-]{1,128}$/.test(openid)) {
    throw badResponse({ httpStatus: status, reason: 'no usable openid' });
  }
  if (typeof sessionKey !== 'string' || !SESSION_KEY.test(sessionKey)) {
    throw badResponse({ httpStatus: status, reason: 'no usable session_key' });
  }
  const session: WeChatSession = { openid, sessionKey };
  if (typeof unionid === 'string' && unionid !== '') session.unionid = unionid;
  return session;
}

function toAppError({ errcode, rid }: WeChatFailure): AppError {
  const known = KNOWN_ERRORS[errcode];
  if (known) return new AppError(known[0], known[1], { errcode, rid });
  return new AppError('WECHAT_BAD_RESPONSE', `WeChat refused the login (errcode ${errcode})`, { errcode, rid });
}

const badResponse = (detail: Record<string, unknown>) =>
  new AppError('WECHAT_BAD_RESPONSE', 'WeChat answered something unusable: retry later', detail);

/** WeChat puts a request id in errmsg ("invalid code, rid: 6385...") that its support asks for. */
function ridOf(errmsg: unknown): string | undefined {
  if (typeof errmsg !== 'string') return undefined;
  return /rid:\s*([\w-]+)/.exec(errmsg)?.[1];
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

function networkReason(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === 'string' ? cause.code : 'network error';
}
