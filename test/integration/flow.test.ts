import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { userId } from '#lib/session/token';
import { userInfoPayload } from '../../local/wechat-data.ts';
import { scanAll, scanUsers } from '../support/invoke.ts';
import { setStoredCredit } from '../support/ledger.ts';
import { APP_ID } from '../support/stack.ts';
import { useTestStack } from '../support/use-stack.ts';

const { stack, client } = useTestStack();

describe('a mini-program user logging in and using the API', () => {
  it("login returns a long random token, which names its user's key, and the session lifetime", async () => {
    const reply = await client.login('alice.1');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ token: expect.stringMatching(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/), expires_in: 604800 });
    expect(String(reply.body.token).split('.')[0]).toBe(userId(APP_ID, stack.fake.user('alice').openid));
  });

  it('stores only the hash of the token, never the token itself', async () => {
    const { body } = await client.login('hashed.1');
    const token = String(body.token);
    const sessions = await scanAll(stack.admin, stack.tables.sessions);
    const hash = createHash('sha256').update(token).digest('base64url');
    expect(sessions.some((item) => item.tokenHash === hash)).toBe(true);
    expect(JSON.stringify(sessions)).not.toContain(token);
    expect(JSON.stringify(sessions)).not.toContain(token.split('.')[1]);
  });

  it('checklogin is true for a live token, by header or by ?token=, and false otherwise', async () => {
    const token = String((await client.login('checker.1')).body.token);
    expect((await client.checklogin(token)).body).toEqual({ is_login: true });
    const byQuery = await client.invoke('checklogin', { method: 'GET', path: '/checklogin', query: { token } });
    expect(byQuery).toMatchObject({ status: 200, body: { is_login: true } });
    const none = await client.invoke('checklogin', { method: 'GET', path: '/checklogin' });
    expect(none).toMatchObject({ status: 200, body: { is_login: false } });
    expect((await client.checklogin('token_1700000000000')).body).toEqual({ is_login: false });
    expect((await client.checklogin('A'.repeat(43))).body).toEqual({ is_login: false });
    expect((await client.checklogin(`${'A'.repeat(22)}.${'A'.repeat(43)}`)).body).toEqual({ is_login: false });
  });

  it('a new user starts with the initial credit', async () => {
    const token = String((await client.login('newbie.1')).body.token);
    expect(await client.credit(token)).toMatchObject({ status: 200, body: { credit: 100 } });
  });

  it('a second login of the same user keeps their credit and the first session stays live', async () => {
    const first = String((await client.login('carol.1')).body.token);
    const { openid } = stack.fake.user('carol');
    await setStoredCredit(stack.admin, stack.tables, userId(APP_ID, openid), 42);
    const second = String((await client.login('carol.2')).body.token);
    expect(second).not.toBe(first);
    expect((await client.credit(second)).body).toEqual({ credit: 42 });
    expect((await client.checklogin(first)).body).toEqual({ is_login: true });
  });

  it('userinfo decrypts the profile, checks the signature, replies without the watermark and saves it', async () => {
    const token = String((await client.login('dave.1')).body.token);
    const user = stack.fake.user('dave');
    const payload = userInfoPayload({ ...user, appId: APP_ID, nickName: 'Dave' });
    const reply = await client.userinfo(token, payload);
    expect(reply.status).toBe(200);
    expect(reply.body.pass).toBe(true);
    expect(reply.body.userInfo).toEqual({
      openId: user.openid,
      unionId: user.unionid,
      ...JSON.parse(payload.rawData),
    });
    const users = await scanUsers(stack.admin, stack.tables);
    const saved = users.find((item) => item.openid === user.openid);
    expect(saved?.userInfo).toMatchObject({ nickName: 'Dave' });
    expect(saved?.credit).toBe(100);
  });

  it('userinfo without rawData/signature passes when the data decrypts for this app', async () => {
    const token = String((await client.login('erin.1')).body.token);
    const { encryptedData, iv } = userInfoPayload({ ...stack.fake.user('erin'), appId: APP_ID, nickName: 'Erin' });
    const reply = await client.userinfo(token, { encryptedData, iv });
    expect(reply.body).toMatchObject({ pass: true, userInfo: { nickName: 'Erin' } });
  });

  it('a wrong rawData signature gives pass: false, no profile, and saves nothing', async () => {
    const token = String((await client.login('frank.1')).body.token);
    const user = stack.fake.user('frank');
    const payload = userInfoPayload({ ...user, appId: APP_ID, nickName: 'Frank' });
    const reply = await client.userinfo(token, { ...payload, rawData: payload.rawData.replace('Frank', 'Mallory') });
    expect(reply).toMatchObject({ status: 200, body: { pass: false } });
    expect(reply.body.userInfo).toBeUndefined();
    const saved = (await scanUsers(stack.admin, stack.tables)).find((item) => item.openid === user.openid);
    expect(saved?.userInfo).toBeUndefined();
  });

  it('an expired session is refused everywhere even though its item is still in the table', async () => {
    const token = String((await client.login('grace.1')).body.token);
    stack.clock.advanceSeconds(604800);
    try {
      expect((await client.checklogin(token)).body).toEqual({ is_login: false });
      expect(await client.credit(token)).toMatchObject({ status: 401, body: { code: 'SESSION_INVALID' } });
      const payload = userInfoPayload({ ...stack.fake.user('grace'), appId: APP_ID, nickName: 'Grace' });
      expect(await client.userinfo(token, payload)).toMatchObject({ status: 401, body: { code: 'SESSION_INVALID' } });
      const hash = createHash('sha256').update(token).digest('base64url');
      expect((await scanAll(stack.admin, stack.tables.sessions)).some((item) => item.tokenHash === hash)).toBe(true);
    } finally {
      stack.clock.advanceSeconds(-604800);
    }
  });

  it('a session one second before expiry is still live, and its TTL attribute is epoch seconds', async () => {
    const token = String((await client.login('heidi.1')).body.token);
    const hash = createHash('sha256').update(token).digest('base64url');
    const item = (await scanAll(stack.admin, stack.tables.sessions)).find((i) => i.tokenHash === hash)!;
    expect(item.expiresAt).toBe(Math.floor(stack.clock.now() / 1000) + 604800);
    stack.clock.advanceSeconds(604799);
    try {
      expect((await client.checklogin(token)).body).toEqual({ is_login: true });
    } finally {
      stack.clock.advanceSeconds(-604799);
    }
  });
});
