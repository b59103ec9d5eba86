import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { createAccessTokens } from '#lib/wechat/access-token';
import { createAccessTokenStore } from '#lib/wechat/access-token-store';
import { createCheckSessionKey } from '#lib/wechat/session-check';
import { userInfoPayload } from '../../local/wechat-data.ts';
import { scanAll } from '../support/invoke.ts';
import { APP_ID, APP_SECRET } from '../support/stack.ts';
import { useTestStack } from '../support/use-stack.ts';

const { stack, client } = useTestStack();

/** What a fresh Lambda instance has: its own memory, the shared DynamoDB cache. */
function instance(tableSuffix = '') {
  const cache = createAccessTokenStore(DynamoDBDocumentClient.from(stack.admin), stack.tables.appCache + tableSuffix, APP_ID);
  return createAccessTokens({
    apiBase: stack.config.wechatApiBase,
    timeoutMs: stack.config.wechatTimeoutMs,
    appId: APP_ID,
    secret: async () => APP_SECRET,
    cache,
    now: stack.clock.now,
    // How long an instance waits for the lease holder's token: it ends as soon as that token is saved, so a generous
    // bound only keeps a busy machine (the holder slower than WECHAT_TIMEOUT_MS + 1 s) from looking like a dead holder.
    waitMs: 10_000,
  });
}

const token = async (code: string) => String((await client.login(code)).body.token);

describe("WeChat's access_token, shared by every instance", () => {
  it('twenty instances that find no token at once make one stable_token call and share its token', async () => {
    const before = stack.fake.stableTokenCalls.length;
    const tokens = await Promise.all(Array.from({ length: 20 }, () => instance().get()));
    expect(stack.fake.stableTokenCalls.length - before).toBe(1);
    expect(new Set(tokens).size).toBe(1);
  });

  it('a token near its expiry is refreshed by exactly one of the instances that need it, in normal mode', async () => {
    await instance().get();
    stack.clock.advanceSeconds(7200 - 200); // inside the 5-minute refresh margin, not yet expired
    try {
      const before = stack.fake.stableTokenCalls.length;
      const tokens = await Promise.all(Array.from({ length: 10 }, () => instance().get()));
      expect(stack.fake.stableTokenCalls.length - before).toBe(1);
      expect(stack.fake.stableTokenCalls.at(-1)).toBe(false); // normal mode: idempotent, no instance invalidates another
      expect(tokens.every((t) => typeof t === 'string' && t.length > 0)).toBe(true);
    } finally {
      stack.clock.advanceSeconds(-(7200 - 200));
    }
  });

  it('while another instance holds the refresh lease, the others answer at once with the old, still valid token', async () => {
    const first = await instance().get();
    const refresher = createAccessTokenStore(DynamoDBDocumentClient.from(stack.admin), stack.tables.appCache, APP_ID);
    const cached = (await refresher.read())!;
    expect(cached.accessToken).toBe(first);
    // Just inside the refresh margin of the cached token, not yet expired.
    const advance = cached.refreshAt + 1 - Math.floor(stack.clock.now() / 1000);
    expect(cached.refreshAt + 1).toBeLessThan(cached.expiresAt);
    stack.clock.advanceSeconds(advance);
    try {
      const now = Math.floor(stack.clock.now() / 1000);
      const lease = await refresher.takeLease(now, now + 60);
      expect(lease).toEqual(expect.any(String));
      try {
        const before = stack.fake.stableTokenCalls.length;
        // Without the "keep the old token" path they would wait for a refresh that never comes, then fail.
        const tokens = await Promise.all(Array.from({ length: 10 }, () => instance().get()));
        expect(tokens).toEqual(Array(10).fill(first));
        expect(stack.fake.stableTokenCalls.length - before).toBe(0);
      } finally {
        await refresher.releaseLease(lease!);
      }
    } finally {
      stack.clock.advanceSeconds(-advance);
    }
  });

  it('on 42001/40001 the token is expired once (compare-and-expire) and refreshed once in normal mode, however many instances saw it fail', async () => {
    const { openid, sessionKey } = stack.fake.user('tina');
    await token('tina.1');
    await instance().get();
    stack.fake.expireAccessToken();
    const before = stack.fake.stableTokenCalls.length;
    const checks = await Promise.all(
      Array.from({ length: 8 }, () =>
        createCheckSessionKey({ apiBase: stack.config.wechatApiBase, timeoutMs: stack.config.wechatTimeoutMs }, instance())(openid, sessionKey),
      ),
    );
    expect(checks).toEqual(Array(8).fill(true));
    // One refresh, not forced: normal mode already hands out a new token for the expired one.
    expect(stack.fake.stableTokenCalls.slice(before)).toEqual([false]);
  });

  it('never stores the AppSecret, only the token', async () => {
    await instance().get();
    const cached = await scanAll(stack.admin, stack.tables.appCache);
    expect(cached).toHaveLength(1);
    expect(JSON.stringify(cached)).not.toContain(APP_SECRET);
    expect(cached[0]).toMatchObject({ accessToken: expect.stringMatching(/^fake-access-token-/), ttl: expect.any(Number) });
  });
});

describe('POST /phonenumber', () => {
  const phone = (t: string, code: unknown) =>
    client.invoke('phonenumber', { method: 'POST', path: '/phonenumber', headers: { authorization: `Bearer ${t}` }, body: { code } });

  it("returns the user's phone number and saves it on the user", async () => {
    const t = await token('uma.1');
    const reply = await phone(t, 'phone-13800138000');
    expect(reply).toMatchObject({ status: 200, body: { phoneNumber: '+8613800138000', purePhoneNumber: '13800138000', countryCode: '86' } });
    const user = (await scanAll(stack.admin, stack.tables.users)).find((u) => u.openid === stack.fake.user('uma').openid);
    expect(user?.phoneNumber).toEqual({ phoneNumber: '+8613800138000', purePhoneNumber: '13800138000', countryCode: '86' });
  });

  it("sends the caller's openid: a code minted on another user's device is refused and nothing is saved on the caller", async () => {
    const t = await token('ulf.1');
    expect(await phone(t, 'phone-13900139000.mallory')).toMatchObject({ status: 400, body: { code: 'INVALID_CODE' } });
    const user = (await scanAll(stack.admin, stack.tables.users)).find((u) => u.openid === stack.fake.user('ulf').openid);
    expect(user?.phoneNumber).toBeUndefined();
    // The caller's own code, minted for them, still works.
    expect(await phone(t, 'phone-13900139000.ulf')).toMatchObject({ status: 200, body: { purePhoneNumber: '13900139000' } });
  });

  it('a wx.login() code sent here by mistake is a 400 that says which code this endpoint wants', async () => {
    const reply = await phone(await token('vic.1'), 'vic.2');
    expect(reply).toMatchObject({ status: 400, body: { code: 'INVALID_CODE', err: expect.stringContaining('getPhoneNumber') } });
  });

  it.each([
    ['a used code (40163)', 'CODE_ALREADY_USED', 409, 'fail-40163'],
    ["WeChat's daily quota used up (45009)", 'WECHAT_RATE_LIMITED', 429, 'fail-45009'],
    ['WeChat busy twice (-1)', 'WECHAT_BUSY', 503, 'fail--1'],
    ['an errcode we do not map', 'WECHAT_BAD_RESPONSE', 502, 'fail-40999'],
  ])('%s is %s', async (_name, code, status, phoneCode) => {
    expect(await phone(await token(`wes${status}.1`), phoneCode)).toMatchObject({ status, body: { code } });
  });

  it('without a session is 401, and WeChat is not asked', async () => {
    const before = stack.fake.apiCalls.length;
    expect(await phone('A'.repeat(43), 'phone-13800138000')).toMatchObject({ status: 401, body: { code: 'SESSION_INVALID' } });
    expect(stack.fake.apiCalls.length).toBe(before);
  });

  it('a missing code is 400 INVALID_REQUEST', async () => {
    expect(await phone(await token('xia.1'), undefined)).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST' } });
  });
});

describe('a session_key WeChat has rotated (the client called wx.login() again)', () => {
  it('/userinfo answers 401 SESSION_KEY_EXPIRED telling the client to log in again', async () => {
    const t = await token('yan.1');
    stack.fake.rotateSessionKey('yan');
    // What wx.getUserInfo() now gives the client: data under the *new* session_key.
    const payload = userInfoPayload({ ...stack.fake.user('yan'), appId: APP_ID, nickName: 'Yan' });
    const reply = await client.userinfo(t, payload);
    expect(reply).toMatchObject({ status: 401, body: { code: 'SESSION_KEY_EXPIRED', err: expect.stringContaining('wx.login()') } });
    // After logging in again with a fresh code, the same data decrypts.
    const fresh = await token('yan.2');
    expect(await client.userinfo(fresh, payload)).toMatchObject({ status: 200, body: { pass: true } });
  });

  it('data that does not decrypt while the session_key is still current stays a 400 DECRYPT_FAILED', async () => {
    const t = await token('zed.1');
    const payload = userInfoPayload({ ...stack.fake.user('zed'), sessionKey: stack.fake.user('other').sessionKey, appId: APP_ID, nickName: 'Zed' });
    expect(await client.userinfo(t, payload)).toMatchObject({ status: 400, body: { code: 'DECRYPT_FAILED' } });
  });

  it('GET /checklogin?verify=wechat adds session_key_valid; plain /checklogin does not ask WeChat', async () => {
    const t = await token('amy.1');
    const verify = () =>
      client.invoke('checklogin', { method: 'GET', path: '/checklogin', headers: { authorization: `Bearer ${t}` }, query: { verify: 'wechat' } });
    expect((await verify()).body).toEqual({ is_login: true, session_key_valid: true });
    stack.fake.rotateSessionKey('amy');
    expect((await verify()).body).toEqual({ is_login: true, session_key_valid: false });
    const before = stack.fake.apiCalls.length;
    expect((await client.checklogin(t)).body).toEqual({ is_login: true });
    expect(stack.fake.apiCalls.length).toBe(before);
  });
});
