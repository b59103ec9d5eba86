import { badWeChatAnswer, callWeChat, type WeChatAnswer, type WeChatHttpOptions, withBusyRetry } from '#lib/wechat/api';
import { weChatError } from '#lib/wechat/errcodes';

export interface WeChatSession {
  openid: string;
  sessionKey: string;
  unionid?: string;
}

export type Code2Session = (code: string) => Promise<WeChatSession>;

export interface Code2SessionOptions extends WeChatHttpOptions {
  appId: string;
  /** The AppSecret, resolved when a request needs it (read from SSM once per instance when deployed). */
  secret: () => Promise<string>;
}

/** 16 bytes in canonical base64: what decryption will accept later, so refuse anything else now. */
const SESSION_KEY = /^[A-Za-z0-9+/]{22}==$/;

/** sns/jscode2session: a wx.login() code -> the user's openid and session_key. */
export function createCode2Session(options: Code2SessionOptions): Code2Session {
  const attempt = async (code: string) =>
    callWeChat(
      options,
      '/sns/jscode2session',
      { query: { appid: options.appId, secret: await options.secret(), js_code: code, grant_type: 'authorization_code' } },
      'retry with a fresh code',
    );

  return async (code) => {
    const answer = await withBusyRetry(options, () => attempt(code));
    if (answer.errcode !== 0) throw weChatError('jscode2session', answer);
    return sessionOf(answer);
  };
}

function sessionOf({ body }: WeChatAnswer): WeChatSession {
  const { openid, session_key: sessionKey, unionid } = body;
  if (typeof openid !== 'string' || !/^[\w-]{1,128}$/.test(openid)) {
    throw badWeChatAnswer({ api: 'jscode2session', httpStatus: 200, reason: 'no usable openid' });
  }
  if (typeof sessionKey !== 'string' || !SESSION_KEY.test(sessionKey)) {
    throw badWeChatAnswer({ api: 'jscode2session', httpStatus: 200, reason: 'no usable session_key' });
  }
  const session: WeChatSession = { openid, sessionKey };
  if (typeof unionid === 'string' && unionid !== '') session.unionid = unionid;
  return session;
}
