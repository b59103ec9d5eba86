import { createHmac } from 'node:crypto';
import { AppError } from '#lib/errors';
import type { AccessTokens } from '#lib/wechat/access-token';
import { callWeChat, type WeChatHttpOptions } from '#lib/wechat/http';

/**
 * The signature wxa/checksession (and other user-state APIs) wants:
 * hmac_sha256 keyed by the session_key *string* (its UTF-8 bytes, not the
 * base64-decoded key), of the message ('' for checksession), hex.
 */
export const sessionKeySignature = (sessionKey: string, message = ''): string =>
  createHmac('sha256', Buffer.from(sessionKey, 'utf8')).update(message, 'utf8').digest('hex');

/** WeChat's answer when the session_key is no longer the user's current one. */
const INVALID_SIGNATURE = 87009;

export type CheckSessionKey = (openid: string, sessionKey: string) => Promise<boolean>;

/** Asks WeChat whether a session_key is still current (a later wx.login() rotates it). */
export function createCheckSessionKey(http: WeChatHttpOptions, tokens: AccessTokens): CheckSessionKey {
  return async (openid, sessionKey) => {
    const answer = await tokens.call((accessToken) =>
      callWeChat(
        http,
        '/wxa/checksession',
        { query: { access_token: accessToken, signature: sessionKeySignature(sessionKey), openid, sig_method: 'hmac_sha256' } },
        'retry in a moment',
      ),
    );
    if (answer.errcode === 0) return true;
    if (answer.errcode === INVALID_SIGNATURE) return false;
    throw new AppError('WECHAT_BAD_RESPONSE', `WeChat could not check the session (errcode ${answer.errcode})`, {
      errcode: answer.errcode,
      rid: answer.rid,
      api: 'checksession',
    });
  };
}
