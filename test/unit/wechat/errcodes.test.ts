import { describe, expect, it } from 'vitest';
import { ERRCODE, type WeChatApiName, weChatError } from '#lib/wechat/errcodes';

const APIS: WeChatApiName[] = ['jscode2session', 'stable_token', 'getuserphonenumber', 'checksession', 'msg_sec_check'];

describe('one WeChat errcode policy for every API', () => {
  it.each(APIS)('%s: a bad AppID, AppSecret, IP whitelist or API permission is a 500 that names the fault, not a 503 to retry', (api) => {
    for (const errcode of [40013, 40125, 40164, 48001]) {
      const error = weChatError(api, { errcode, rid: 'r1' });
      expect(error.code).toBe('INTERNAL');
      expect(error.message).not.toMatch(/retry/i);
      expect(error.detail).toMatchObject({ api, errcode, rid: 'r1', fault: expect.stringMatching(/\(\d+/) });
    }
  });

  it.each(APIS)('%s: system busy (-1) is 503 WECHAT_BUSY', (api) => {
    expect(weChatError(api, { errcode: ERRCODE.SYSTEM_BUSY, rid: undefined }).code).toBe('WECHAT_BUSY');
  });

  it('an API can mean something of its own by an errcode: 40029 names the code each one wants', () => {
    expect(weChatError('jscode2session', { errcode: 40029, rid: undefined }).message).toContain('wx.login()');
    expect(weChatError('getuserphonenumber', { errcode: 40029, rid: undefined }).message).toContain('getPhoneNumber');
  });

  it('an unmapped errcode is 502 WECHAT_BAD_RESPONSE, but no access token at all is 503 WECHAT_BUSY', () => {
    expect(weChatError('checksession', { errcode: 40999, rid: undefined })).toMatchObject({
      code: 'WECHAT_BAD_RESPONSE',
      detail: { errcode: 40999 },
    });
    expect(weChatError('stable_token', { errcode: 40999, rid: undefined }).code).toBe('WECHAT_BUSY');
  });

  it('phone numbers cost money: the quota and rate errcodes are 429 or 503 with advice', () => {
    expect(weChatError('getuserphonenumber', { errcode: 45009, rid: undefined })).toMatchObject({ code: 'WECHAT_RATE_LIMITED' });
    expect(weChatError('getuserphonenumber', { errcode: 45011, rid: undefined })).toMatchObject({ code: 'WECHAT_RATE_LIMITED' });
    const exhausted = weChatError('getuserphonenumber', { errcode: 1400001, rid: undefined });
    expect(exhausted.code).toBe('PHONE_QUOTA_EXHAUSTED');
    expect(exhausted.message).toMatch(/hide the phone button/);
  });

  it("msg_sec_check's version-1 verdict 87014 (risky content) is a refused nickname", () => {
    expect(weChatError('msg_sec_check', { errcode: 87014, rid: undefined }).code).toBe('CONTENT_REJECTED');
  });
});
