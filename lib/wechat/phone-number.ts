import { AppError } from '#lib/errors';
import type { AccessTokens } from '#lib/wechat/access-token';
import { WECHAT_BUSY } from '#lib/wechat/code2session';
import { callWeChat, type WeChatHttpOptions } from '#lib/wechat/http';

export interface PhoneNumber {
  phoneNumber: string;
  purePhoneNumber: string;
  countryCode: string;
}

export type GetPhoneNumber = (code: string) => Promise<PhoneNumber>;

const KNOWN_ERRORS: Record<number, [AppError['code'], string]> = {
  40029: [
    'INVALID_CODE',
    'WeChat rejected the code: /phonenumber wants the code from <button open-type="getPhoneNumber"> (e.detail.code), not the one from wx.login(); get a fresh one',
  ],
  40163: ['CODE_ALREADY_USED', 'This phone-number code was already used: ask the user to tap the button again'],
  45009: ['WECHAT_RATE_LIMITED', "WeChat's daily quota for phone numbers is used up: retry tomorrow or raise the quota"],
  45011: ['WECHAT_RATE_LIMITED', 'WeChat rate-limited phone-number requests: wait a minute and retry'],
  [WECHAT_BUSY]: ['WECHAT_BUSY', 'WeChat is busy: retry in a moment'],
};

/** wxa/business/getuserphonenumber: the code from the getPhoneNumber button -> the user's phone number. */
export function createGetPhoneNumber(http: WeChatHttpOptions, tokens: AccessTokens): GetPhoneNumber {
  const attempt = (code: string) =>
    tokens.call((accessToken) =>
      callWeChat(http, '/wxa/business/getuserphonenumber', { query: { access_token: accessToken }, json: { code } }, 'ask the user to tap the button again'),
    );
  return async (code) => {
    let answer = await attempt(code);
    if (answer.errcode === WECHAT_BUSY) answer = await attempt(code);
    if (answer.errcode !== 0) {
      const [errorCode, message] = KNOWN_ERRORS[answer.errcode] ?? [
        'WECHAT_BAD_RESPONSE',
        `WeChat refused the phone-number request (errcode ${answer.errcode})`,
      ];
      throw new AppError(errorCode, message, { errcode: answer.errcode, rid: answer.rid, api: 'getuserphonenumber' });
    }
    const info = answer.body.phone_info as Record<string, unknown> | undefined;
    const { phoneNumber, purePhoneNumber, countryCode } = info ?? {};
    if (typeof phoneNumber !== 'string' || typeof purePhoneNumber !== 'string' || typeof countryCode !== 'string') {
      throw new AppError('WECHAT_BAD_RESPONSE', 'WeChat answered something unusable: retry later', { reason: 'no phone_info', api: 'getuserphonenumber' });
    }
    return { phoneNumber, purePhoneNumber, countryCode };
  };
}
