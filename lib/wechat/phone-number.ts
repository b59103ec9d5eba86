import type { PhoneNumber } from '#lib/store/users';
import type { AccessTokens } from '#lib/wechat/access-token';
import { badWeChatAnswer, callWeChat, type WeChatHttpOptions, withBusyRetry } from '#lib/wechat/api';
import { weChatError } from '#lib/wechat/errcodes';

export type GetPhoneNumber = (code: string) => Promise<PhoneNumber>;

/** wxa/business/getuserphonenumber: the code from the getPhoneNumber button -> the user's phone number. */
export function createGetPhoneNumber(http: WeChatHttpOptions, tokens: AccessTokens): GetPhoneNumber {
  const attempt = (code: string) =>
    tokens.call((accessToken) =>
      callWeChat(
        http,
        '/wxa/business/getuserphonenumber',
        { query: { access_token: accessToken }, json: { code } },
        'ask the user to tap the button again',
      ),
    );
  return async (code) => {
    const answer = await withBusyRetry(http, () => attempt(code));
    if (answer.errcode !== 0) throw weChatError('getuserphonenumber', answer);
    const info = answer.body.phone_info as Record<string, unknown> | undefined;
    const { phoneNumber, purePhoneNumber, countryCode } = info ?? {};
    if (typeof phoneNumber !== 'string' || typeof purePhoneNumber !== 'string' || typeof countryCode !== 'string') {
      throw badWeChatAnswer({ httpStatus: 200, reason: 'no phone_info', api: 'getuserphonenumber' });
    }
    return { phoneNumber, purePhoneNumber, countryCode };
  };
}
