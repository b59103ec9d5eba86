import type { AccessTokens } from '#lib/wechat/access-token';
import { badWeChatAnswer, callWeChat, type WeChatHttpOptions, withBusyRetry } from '#lib/wechat/api';
import { weChatError } from '#lib/wechat/errcodes';

/** A user's phone number as WeChat gives it (wxa/business/getuserphonenumber). */
export interface PhoneNumber {
  phoneNumber: string;
  purePhoneNumber: string;
  countryCode: string;
}

/** The code from the getPhoneNumber button and the openid of the session that sent it. */
export type GetPhoneNumber = (code: string, openid: string) => Promise<PhoneNumber>;

/**
 * wxa/business/getuserphonenumber: the code from the getPhoneNumber button -> the user's phone number.
 * The optional openid makes WeChat refuse a code minted on another user's device.
 */
export function createGetPhoneNumber(http: WeChatHttpOptions, tokens: AccessTokens): GetPhoneNumber {
  const attempt = (code: string, openid: string) =>
    tokens.call((accessToken) =>
      callWeChat(
        http,
        '/wxa/business/getuserphonenumber',
        { query: { access_token: accessToken }, json: { code, openid } },
        'ask the user to tap the button again',
      ),
    );
  return async (code, openid) => {
    const answer = await withBusyRetry(http, () => attempt(code, openid));
    if (answer.errcode !== 0) throw weChatError('getuserphonenumber', answer);
    const info = answer.body.phone_info as Record<string, unknown> | undefined;
    const { phoneNumber, purePhoneNumber, countryCode } = info ?? {};
    if (typeof phoneNumber !== 'string' || typeof purePhoneNumber !== 'string' || typeof countryCode !== 'string') {
      throw badWeChatAnswer({ httpStatus: 200, reason: 'no phone_info', api: 'getuserphonenumber' });
    }
    return { phoneNumber, purePhoneNumber, countryCode };
  };
}
