/**
 * Several mini-programs on one deployment (#12): each app's users, credits, profiles, phone numbers,
 * sessions, codes and access tokens are its own. Real DynamoDB Local, the fake WeChat over HTTP serving two apps.
 */

import { DeleteItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { createDocumentClient } from '#lib/aws/dynamodb';
import type { Config } from '#lib/config';
import { userId } from '#lib/session/token';
import { allDeps } from '#lib/wiring';
import { userInfoPayload } from '../../local/wechat-data.ts';
import { api, scanAll } from '../support/invoke.ts';
import { setStoredCredit } from '../support/ledger.ts';
import { APP_ID, APP_ID_B, APP_SECRET_B } from '../support/stack.ts';
import { useTestStack } from '../support/use-stack.ts';

const { stack, client } = useTestStack();

const loginTo = (code: string, appid?: string, headers: Record<string, string> = {}) =>
  client.invoke('login', { method: 'POST', path: '/login', headers, body: JSON.stringify(appid ? { code, appid } : { code }) });
const bearer = (token: string, appid?: string) => ({ authorization: `Bearer ${token}`, ...(appid ? { 'x-wx-appid': appid } : {}) });
const tokenOf = (reply: { status: number; body: Record<string, unknown> }) => {
  expect(reply.status).toBe(200);
  return String(reply.body.token);
};
const userItem = async (appId: string, name: string) =>
  (await scanAll(stack.admin, stack.tables.users)).find((u) => u.uid === userId(appId, stack.fake.user(name, appId).openid));

describe('one deployment, several mini-programs', () => {
  it('one person logged into two apps is two users with separate credits, linked by unionid', async () => {
    const a = tokenOf(await loginTo('twin.a1'));
    const b = tokenOf(await loginTo('twin.b1', APP_ID_B));
    expect(stack.fake.user('twin', APP_ID).openid).not.toBe(stack.fake.user('twin', APP_ID_B).openid);
    expect(a.split('.')[0]).toBe(userId(APP_ID, stack.fake.user('twin', APP_ID).openid));
    expect(b.split('.')[0]).toBe(userId(APP_ID_B, stack.fake.user('twin', APP_ID_B).openid));

    await setStoredCredit(stack.admin, stack.tables, userId(APP_ID, stack.fake.user('twin', APP_ID).openid), 7);
    expect((await client.credit(a)).body).toEqual({ credit: 7 });
    expect((await client.credit(b)).body).toEqual({ credit: 100 });

    const [userA, userB] = [await userItem(APP_ID, 'twin'), await userItem(APP_ID_B, 'twin')];
    expect(userA).toMatchObject({ appid: APP_ID, openid: stack.fake.user('twin', APP_ID).openid });
    expect(userB).toMatchObject({ appid: APP_ID_B, openid: stack.fake.user('twin', APP_ID_B).openid });
    expect(userA?.unionid).toBe(stack.fake.user('twin').unionid);
    expect(userB?.unionid).toBe(userA?.unionid);

    const linked = await stack.deps.users.findByUnionid(stack.fake.user('twin').unionid);
    expect(linked.sort((x, y) => x.appid.localeCompare(y.appid))).toEqual(
      [
        { appid: APP_ID, openid: stack.fake.user('twin', APP_ID).openid, uid: userA?.uid },
        { appid: APP_ID_B, openid: stack.fake.user('twin', APP_ID_B).openid, uid: userB?.uid },
      ].sort((x, y) => x.appid.localeCompare(y.appid)),
    );
    expect(await stack.deps.users.findByUnionid('u-nobody')).toEqual([]);
  });

  it('sessions carry no unionid: it is kept on the user only', async () => {
    tokenOf(await loginTo('plain.1'));
    const sessions = await scanAll(stack.admin, stack.tables.sessions);
    expect(sessions.length).toBeGreaterThan(0);
    for (const session of sessions) expect(session).not.toHaveProperty('unionid');
  });

  it("app B's encrypted data does not decrypt in an app A session: 400 DECRYPT_FAILED, nothing saved", async () => {
    const a = tokenOf(await loginTo('cross.a1'));
    tokenOf(await loginTo('cross.b1', APP_ID_B));
    const fromB = await (await fetch(`${stack.fake.url}/__fake/userinfo?user=cross&appid=${APP_ID_B}`)).json();
    const reply = await client.userinfo(a, fromB);
    expect(reply).toMatchObject({ status: 400, body: { code: 'DECRYPT_FAILED' } });
    // Even under A's own session_key, B's watermark is refused.
    const underA = userInfoPayload({ ...stack.fake.user('cross', APP_ID), appId: APP_ID_B, nickName: 'B' });
    expect(await client.userinfo(a, underA)).toMatchObject({ status: 400, body: { code: 'DECRYPT_FAILED' } });
    expect((await userItem(APP_ID, 'cross'))?.userInfo).toBeUndefined();
    expect((await userItem(APP_ID_B, 'cross'))?.userInfo).toBeUndefined();

    // B's own data in B's session passes, watermarked with B.
    const b = tokenOf(await loginTo('cross.b2', APP_ID_B));
    expect(await client.userinfo(b, fromB)).toMatchObject({ status: 200, body: { pass: true } });
  });

  it("app A's token is refused in app B's scope (X-WX-AppId names B): 401, and checklogin says false", async () => {
    const a = tokenOf(await loginTo('scoped.1'));
    const credit = await client.invoke('credit', { method: 'GET', path: '/credit', headers: bearer(a, APP_ID_B) });
    expect(credit).toMatchObject({ status: 401, body: { code: 'SESSION_INVALID', err: expect.stringContaining('another mini-program') } });
    const info = await client.invoke('userinfo', {
      method: 'POST',
      path: '/userinfo',
      headers: bearer(a, APP_ID_B),
      body: JSON.stringify(userInfoPayload({ ...stack.fake.user('scoped', APP_ID), appId: APP_ID, nickName: 'S' })),
    });
    expect(info).toMatchObject({ status: 401, body: { code: 'SESSION_INVALID' } });
    const phone = await client.invoke('phonenumber', {
      method: 'POST',
      path: '/phonenumber',
      headers: bearer(a, APP_ID_B),
      body: JSON.stringify({ code: 'phone-13800138001' }),
    });
    expect(phone).toMatchObject({ status: 401, body: { code: 'SESSION_INVALID' } });
    const check = await client.invoke('checklogin', { method: 'GET', path: '/checklogin', headers: bearer(a, APP_ID_B) });
    expect(check).toMatchObject({ status: 200, body: { is_login: false } });
    // Its own app's header, or none, is fine.
    expect(await client.invoke('credit', { method: 'GET', path: '/credit', headers: bearer(a, APP_ID) })).toMatchObject({ status: 200 });
    expect((await userItem(APP_ID, 'scoped'))?.phoneNumber).toBeUndefined();
  });

  it("a phone number is fetched with the session app's access token and saved on that app's user only", async () => {
    const b = tokenOf(await loginTo('dial.b1', APP_ID_B));
    const reply = await client.invoke('phonenumber', {
      method: 'POST',
      path: '/phonenumber',
      headers: bearer(b),
      body: JSON.stringify({ code: 'phone-13800138002.dial' }),
    });
    expect(reply).toMatchObject({ status: 200, body: { purePhoneNumber: '13800138002' } });
    expect((await userItem(APP_ID_B, 'dial'))?.phoneNumber).toMatchObject({ purePhoneNumber: '13800138002' });
  });

  it('a code sent naming the wrong app fails at WeChat: 400 INVALID_CODE', async () => {
    // Minted by app B, sent as app A's (no appid: the default), then named as B and accepted.
    expect(await loginTo(`wrong.${APP_ID_B}-1`)).toMatchObject({ status: 400, body: { code: 'INVALID_CODE' } });
    expect(await loginTo(`wrong.${APP_ID_B}-2`, APP_ID)).toMatchObject({ status: 400, body: { code: 'INVALID_CODE' } });
    tokenOf(await loginTo(`wrong.${APP_ID_B}-3`, APP_ID_B));
  });

  it('an unregistered appid is 400 UNKNOWN_APP, a malformed one 400 INVALID_REQUEST, and WeChat is not asked', async () => {
    const asked = stack.fake.codes.length;
    expect(await loginTo('stranger.1', 'wx0000000000000000')).toMatchObject({ status: 400, body: { code: 'UNKNOWN_APP' } });
    expect(await loginTo('stranger.2', undefined, { 'x-wx-appid': 'wx0000000000000000' })).toMatchObject({
      status: 400,
      body: { code: 'UNKNOWN_APP' },
    });
    for (const bad of ['wx123', 'APP', `${APP_ID} `, '']) {
      const reply = await client.invoke('login', { method: 'POST', path: '/login', body: JSON.stringify({ code: 'stranger.3', appid: bad }) });
      expect(reply, bad).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST' } });
    }
    const numeric = await client.invoke('login', { method: 'POST', path: '/login', body: JSON.stringify({ code: 'stranger.4', appid: 42 }) });
    expect(numeric).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST' } });
    expect(await loginTo('stranger.5', undefined, { 'x-wx-appid': 'not-an-app' })).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST' } });
    expect(stack.fake.codes.length).toBe(asked);
  });

  it('body and header naming different apps is 400 INVALID_REQUEST; naming the same one is fine', async () => {
    expect(await loginTo('both.1', APP_ID, { 'x-wx-appid': APP_ID_B })).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST' } });
    const same = tokenOf(await loginTo('both.2', APP_ID_B, { 'x-wx-appid': APP_ID_B }));
    expect(same.split('.')[0]).toBe(userId(APP_ID_B, stack.fake.user('both', APP_ID_B).openid));
  });

  it("the header alone names the app; wx.request's Referer is the fallback, and body or header win over it", async () => {
    const byHeader = tokenOf(await loginTo('via.1', undefined, { 'x-wx-appid': APP_ID_B }));
    expect(byHeader.split('.')[0]).toBe(userId(APP_ID_B, stack.fake.user('via', APP_ID_B).openid));
    const referer = `https://servicewechat.com/${APP_ID_B}/12/page-frame.html`;
    const byReferer = tokenOf(await loginTo('via.2', undefined, { referer }));
    expect(byReferer.split('.')[0]).toBe(userId(APP_ID_B, stack.fake.user('via', APP_ID_B).openid));
    const bodyWins = tokenOf(await loginTo('via.3', APP_ID, { referer }));
    expect(bodyWins.split('.')[0]).toBe(userId(APP_ID, stack.fake.user('via', APP_ID).openid));
    // A Referer from anywhere else names nothing: the default app.
    const elsewhere = tokenOf(await loginTo('via.4', undefined, { referer: `https://example.com/${APP_ID_B}/1/page-frame.html` }));
    expect(elsewhere.split('.')[0]).toBe(userId(APP_ID, stack.fake.user('via', APP_ID).openid));
  });

  it("the same code string in two apps is two codes: each app's login record is its own", async () => {
    tokenOf(await loginTo('same.code'));
    tokenOf(await loginTo('same.code', APP_ID_B));
    // Each is replayed within its own app (a retry), and gives its own app's user.
    const replayB = tokenOf(await loginTo('same.code', APP_ID_B));
    expect(replayB.split('.')[0]).toBe(userId(APP_ID_B, stack.fake.user('same', APP_ID_B).openid));
  });

  it("two apps' access tokens refresh independently: one item and lease each, expiring one leaves the other", async () => {
    const a = tokenOf(await loginTo('tok.a1'));
    const b = tokenOf(await loginTo('tok.b1', APP_ID_B));
    const verify = (token: string) =>
      client.invoke('checklogin', { method: 'GET', path: '/checklogin', headers: bearer(token), query: { verify: 'wechat' } });
    expect((await verify(a)).body).toEqual({ is_login: true, session_key_valid: true });
    expect((await verify(b)).body).toEqual({ is_login: true, session_key_valid: true });
    const item = async (appId: string) =>
      (
        await stack.admin.send(
          new GetItemCommand({ TableName: stack.tables.appCache, Key: { id: { S: `access-token#${appId}` } }, ConsistentRead: true }),
        )
      ).Item;
    const [tokenA, tokenB] = [(await item(APP_ID))?.accessToken?.S, (await item(APP_ID_B))?.accessToken?.S];
    expect(tokenA).toBeDefined();
    expect(tokenB).toBeDefined();
    expect(tokenA).not.toBe(tokenB);

    stack.fake.expireAccessToken(APP_ID);
    const calls = stack.fake.stableTokenAppIds.length;
    expect((await verify(a)).body).toEqual({ is_login: true, session_key_valid: true });
    expect(stack.fake.stableTokenAppIds.slice(calls)).toEqual([APP_ID]);
    expect((await item(APP_ID))?.accessToken?.S).not.toBe(tokenA);
    expect((await item(APP_ID_B))?.accessToken?.S).toBe(tokenB);
    expect((await verify(b)).body).toEqual({ is_login: true, session_key_valid: true });
    expect(stack.fake.stableTokenAppIds.slice(calls)).toEqual([APP_ID]);
  });

  it("logging out everywhere in one app leaves the same person's sessions in the other app", async () => {
    const a = tokenOf(await loginTo('leaver.a1'));
    const b = tokenOf(await loginTo('leaver.b1', APP_ID_B));
    expect((await client.logout(a, true)).body).toEqual({ logged_out: true, sessions_revoked: 1 });
    expect((await client.checklogin(b)).body).toEqual({ is_login: true });
  });
});

describe('an app registered in SSM (WECHAT_APPS_PARAM_PATH)', () => {
  it('logs in while its parameter exists; once deleted, within APPS_CACHE_SECONDS it can no longer log in, and live sessions live out their TTL', async () => {
    const PATH = '/wechat-login/test/apps/';
    let registered = true;
    const listings: string[] = [];
    const listParameters = async (path: string) => {
      listings.push(path);
      return new Map(registered ? [[`${PATH}${APP_ID_B}`, APP_SECRET_B]] : []);
    };
    const readParameter = async (name: string): Promise<string | undefined> => {
      throw new Error(`no GetParameter expected, got ${name}`);
    };
    // B only through SSM: not listed in WECHAT_APPS.
    const config: Config = { ...stack.config, apps: { ...stack.config.apps, listed: new Map(), parameterPath: PATH, cacheSeconds: 60 } };
    const ssmClient = api(allDeps(config, { now: stack.clock.now, readParameter, listParameters, busyRetryDelayMs: 20 }));
    const login = (code: string) => ssmClient.invoke('login', { method: 'POST', path: '/login', body: JSON.stringify({ code, appid: APP_ID_B }) });

    const first = await login('ssm.b1');
    expect(first.status).toBe(200);
    expect(listings).toEqual([PATH.slice(0, -1)]);

    registered = false; // aws ssm delete-parameter
    stack.clock.advanceSeconds(59);
    expect((await login('ssm.b2')).status).toBe(200);
    expect(listings).toHaveLength(1);
    stack.clock.advanceSeconds(2);
    expect(await login('ssm.b3')).toMatchObject({ status: 400, body: { code: 'UNKNOWN_APP' } });
    // An app never registered is not in the listing: refused without asking SSM again.
    expect(
      await ssmClient.invoke('login', { method: 'POST', path: '/login', body: JSON.stringify({ code: 'x.1', appid: 'wx0000000000000001' }) }),
    ).toMatchObject({
      status: 400,
      body: { code: 'UNKNOWN_APP' },
    });
    expect(listings).toHaveLength(2);
    // Its live sessions keep working until they expire (only login and token refreshes consult the registry).
    const token = String(first.body.token);
    expect((await ssmClient.credit(token)).status).toBe(200);
    expect((await ssmClient.checklogin(token)).body).toEqual({ is_login: true });
    // A server API call needs the app's AppSecret only to refresh its access token: with none cached, it is refused.
    await stack.admin.send(new DeleteItemCommand({ TableName: stack.tables.appCache, Key: { id: { S: `access-token#${APP_ID_B}` } } }));
    // B's first login asked WeChat for the new user's risk rank, so this instance also holds a token in memory: WeChat expires it.
    stack.fake.expireAccessToken(APP_ID_B);
    const verify = await ssmClient.invoke('checklogin', {
      method: 'GET',
      path: '/checklogin',
      headers: { authorization: `Bearer ${token}` },
      query: { verify: 'wechat' },
    });
    expect(verify).toMatchObject({ status: 400, body: { code: 'UNKNOWN_APP' } });
  });
});

describe('round-trips', () => {
  it('/credit is one DynamoDB request, /checklogin one, and /logout?all=1 one Query plus its deletes', async () => {
    const db = createDocumentClient({ region: stack.config.region, endpoint: stack.config.dynamodbEndpoint });
    const commands: string[] = [];
    db.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(context.commandName ?? '');
        return next(args);
      },
      { step: 'initialize', name: 'countCommands' },
    );
    try {
      const counted = api(allDeps(stack.config, { db, now: stack.clock.now }));
      const tokens = [];
      for (let i = 1; i <= 3; i++) tokens.push(tokenOf(await counted.login(`trips.${i}`)));

      commands.length = 0;
      expect((await counted.credit(tokens[0]!)).body).toEqual({ credit: 100 });
      expect(commands).toEqual(['BatchGetItemCommand']);

      commands.length = 0;
      expect((await counted.checklogin(tokens[0]!)).body).toEqual({ is_login: true });
      expect(commands).toEqual(['GetItemCommand']);

      commands.length = 0;
      expect((await counted.logout(tokens[0]!, true)).body).toEqual({ logged_out: true, sessions_revoked: 3 });
      // The session check, the user's replay mark, ONE Query of the user's sessions, and a delete per session.
      expect(commands).toEqual([
        'GetItemCommand',
        'UpdateItemCommand',
        'QueryCommand',
        'DeleteItemCommand',
        'DeleteItemCommand',
        'DeleteItemCommand',
      ]);
      for (const token of tokens) expect((await counted.checklogin(token)).body).toEqual({ is_login: false });
    } finally {
      db.destroy();
    }
  });
});
