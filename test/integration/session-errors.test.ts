import { beforeAll, describe, expect, it } from 'vitest';
import { otherOpenDataPayload, userInfoPayload } from '../../local/wechat-data.ts';
import { scanAll } from '../support/invoke.ts';
import { APP_ID } from '../support/stack.ts';
import { useTestStack } from '../support/use-stack.ts';

const { stack, client } = useTestStack();
let token: string;
beforeAll(async () => {
  token = String((await client.login('ivan.1')).body.token);
});

const payload = (overrides: Partial<Parameters<typeof userInfoPayload>[0]> = {}) =>
  userInfoPayload({ ...stack.fake.user('ivan'), appId: APP_ID, nickName: 'Ivan', ...overrides });

describe('GET /credit and POST /userinfo need a live session', () => {
  it('no token is 401 UNAUTHENTICATED', async () => {
    expect(await client.invoke('credit', { method: 'GET', path: '/credit' })).toMatchObject({
      status: 401,
      body: { code: 'UNAUTHENTICATED', err: expect.stringContaining('Bearer') },
    });
    expect(await client.invoke('userinfo', { method: 'POST', path: '/userinfo', body: payload() })).toMatchObject({
      status: 401,
      body: { code: 'UNAUTHENTICATED' },
    });
  });

  it('an unknown or junk token is 401 SESSION_INVALID', async () => {
    for (const junk of ['A'.repeat(43), 'token_1700000000000', "' OR 1=1 --", 'x'.repeat(5000)]) {
      expect((await client.credit(junk)).body.code, junk.slice(0, 20)).toBe('SESSION_INVALID');
    }
  });

  it('the old ?token= query works for /credit', async () => {
    expect(await client.invoke('credit', { method: 'GET', path: '/credit', query: { token } })).toMatchObject({
      status: 200,
      body: { credit: 100 },
    });
  });

  it('two different tokens in header and query are 400 AMBIGUOUS_TOKEN; checklogin just says false', async () => {
    const both = { method: 'GET', headers: { authorization: `Bearer ${token}` }, query: { token: 'B'.repeat(43) } };
    expect(await client.invoke('credit', { ...both, path: '/credit' })).toMatchObject({ status: 400, body: { code: 'AMBIGUOUS_TOKEN' } });
    expect(await client.invoke('checklogin', { ...both, path: '/checklogin' })).toMatchObject({ status: 200, body: { is_login: false } });
  });
});

describe('POST /userinfo refuses data it cannot trust with a 400', () => {
  it('data encrypted for another app is 400 DECRYPT_FAILED and saves nothing', async () => {
    const reply = await client.userinfo(token, payload({ appId: 'wxffffffffffffffff' }));
    expect(reply).toMatchObject({ status: 400, body: { code: 'DECRYPT_FAILED' } });
    const user = (await scanAll(stack.admin, stack.tables.users)).find((u) => u.openid === stack.fake.user('ivan').openid);
    expect(user?.userInfo).toBeUndefined();
  });

  it('data under another session_key (WeChat rotated it) is 400 DECRYPT_FAILED telling the client to log in again', async () => {
    const reply = await client.userinfo(token, payload({ sessionKey: stack.fake.user('someone-else').sessionKey }));
    expect(reply).toMatchObject({ status: 400, body: { code: 'DECRYPT_FAILED', err: expect.stringMatching(/wx\.login/) } });
  });

  it('data of another user is 400 DECRYPT_FAILED', async () => {
    const reply = await client.userinfo(token, payload({ openid: stack.fake.user('mallory').openid }));
    expect(reply).toMatchObject({ status: 400, body: { code: 'DECRYPT_FAILED' } });
  });

  it.each(['werun', 'group', 'phone'] as const)(
    "other open data under the user's own session_key (%s) is 400 INVALID_REQUEST naming what was expected, and the saved profile stays",
    async (kind) => {
      expect(await client.userinfo(token, payload())).toMatchObject({ status: 200, body: { pass: true } });
      const reply = await client.userinfo(token, otherOpenDataPayload(kind, { appId: APP_ID, sessionKey: stack.fake.user('ivan').sessionKey }));
      expect(reply).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', err: expect.stringContaining('wx.getUserInfo()') } });
      const user = (await scanAll(stack.admin, stack.tables.users)).find((u) => u.openid === stack.fake.user('ivan').openid);
      expect(user?.userInfo).toMatchObject({ nickName: 'Ivan', openId: stack.fake.user('ivan').openid });
    },
  );

  it.each([
    ['invalid base64', { encryptedData: '!!!not base64!!!' }],
    ['a short iv', { iv: 'AAAA' }],
    ['a ciphertext that is not whole blocks', { encryptedData: 'QUJDRA==' }],
  ])('%s is 400 DECRYPT_FAILED', async (_name, change) => {
    expect(await client.userinfo(token, { ...payload(), ...change })).toMatchObject({ status: 400, body: { code: 'DECRYPT_FAILED' } });
  });

  it.each([
    ['no encryptedData', { iv: 'AAAAAAAAAAAAAAAAAAAAAA==' }],
    ['a numeric iv', { encryptedData: 'QUJDRA==', iv: 16 }],
    ['rawData without signature', { encryptedData: 'QUJDRA==', iv: 'AAAAAAAAAAAAAAAAAAAAAA==', rawData: '{}' }],
  ])('%s is 400 INVALID_REQUEST', async (_name, body) => {
    expect(await client.userinfo(token, body)).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST' } });
  });

  it('no reply ever carries the session_key', async () => {
    const { sessionKey } = stack.fake.user('ivan');
    const replies = [
      await client.userinfo(token, payload()),
      await client.userinfo(token, payload({ appId: 'wxffffffffffffffff' })),
      await client.credit(token),
      await client.checklogin(token),
    ];
    for (const reply of replies) expect(reply.raw).not.toContain(sessionKey);
  });
});
