import * as v from 'valibot';

/** A one-time WeChat code (WeChat's are 32 characters; anything printable up to 128 is let through to WeChat). */
const wechatCode = (source: string) =>
  v.pipe(
    v.string(`code must be a string: ${source}`),
    v.minLength(1, `code is empty: send ${source}`),
    v.maxLength(128, 'code is longer than 128 characters'),
    v.regex(/^[\x21-\x7e]+$/, 'code must be printable ASCII without spaces'),
  );

export const LoginBody = v.object({ code: wechatCode('the code from wx.login()') });

/** Not wx.login()'s code: the phone button's. */
export const PhoneNumberBody = v.object({ code: wechatCode('e.detail.code from <button open-type="getPhoneNumber">') });

const base64 = (field: string, max: number) =>
  v.pipe(
    v.string(`${field} must be a string`),
    v.minLength(1, `${field} is empty`),
    v.maxLength(max, `${field} is longer than ${max} characters`),
  );

export const UserInfoBody = v.pipe(
  v.object({
    encryptedData: base64('encryptedData', 24 * 1024),
    iv: base64('iv', 64),
    rawData: v.optional(v.pipe(v.string('rawData must be a string'), v.maxLength(8 * 1024, 'rawData is longer than 8192 characters'))),
    signature: v.optional(v.pipe(v.string('signature must be a string'), v.maxLength(64, 'signature is longer than 64 characters'))),
  }),
  v.check(
    (body) => (body.rawData === undefined) === (body.signature === undefined),
    'rawData and signature go together: send both or neither',
  ),
);
