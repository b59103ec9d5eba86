import * as v from 'valibot';

/**
 * A one-time WeChat code, of wx.login() or of the getPhoneNumber button. WeChat's
 * are 32 characters; anything printable up to 128 is let through for WeChat to judge.
 */
export const oneTimeCode = (source: string) =>
  v.pipe(
    v.string(`code must be a string: ${source}`),
    v.minLength(1, `code is empty: send ${source}`),
    v.maxLength(128, 'code is longer than 128 characters'),
    v.regex(/^[\x21-\x7e]+$/, 'code must be printable ASCII without spaces'),
  );
