import { createHmac } from 'node:crypto';
import type { AccessTokens } from '#lib/wechat/access-token';
import { callWeChat, type WeChatHttpOptions, withBusyRetry } from '#lib/wechat/api';
import { ERRCODE, weChatError } from '#lib/wechat/errcodes';

/**
 * The signature wxa/checksession (and other user-state APIs) wants:
 * hmac_sha256 keyed by the session_key *string* (its UTF-8 bytes, not the
 * base64-decoded key), of the message ('' for checksession), hex.
 */
export const sessionKeySignature = (sessionKey: string, message = ''): string =>
  createHmac('sha256', Buffer.from(sessionKey, 'utf8')).update(message, 'utf8').digest('hex');

export type CheckSessionKey = (openid: string, sessionKey: string) => Promise<boolean>;

/** wxa/checksession: is a session_key still the user's current one (a later wx.login() rotates it)? */
export function createCheckSessionKey(http: WeChatHttpOptions, tokens: AccessTokens): CheckSessionKey {
  return async (openid, sessionKey) => {
    const answer = await withBusyRetry(http, () =>
      tokens.call((accessToken) =>
        callWeChat(
          http,
          '/wxa/checksession',
          { query: { access_token: accessToken, signature: sessionKeySignature(sessionKey), openid, sig_method: 'hmac_sha256' } },
          'retry in a moment',
        ),
      ),
    );
    if (answer.errcode === 0) return true;
    if (answer.errcode === ERRCODE.INVALID_SIGNATURE) return false;
    throw weChatError('checksession', answer);
  };
}
