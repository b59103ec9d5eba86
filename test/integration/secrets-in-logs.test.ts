import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { logger } from '#lib/kernel/log';
import { createCode2Session } from '#lib/wechat/code2session';
import { allDeps } from '#lib/wiring';
import type { FakeAnswer } from '../../local/fake-wechat.ts';
import { freePort } from '../../local/ports.ts';
import { userInfoPayload } from '../../local/wechat-data.ts';
import { api, type Reply, scanAll } from '../support/invoke.ts';
import { captureOutput } from '../support/log-capture.ts';
import { IMAGES, uploadFileBody } from '../support/multipart.ts';
import { APP_ID, APP_SECRET, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * A full run of every endpoint, successes and failures, with every byte the
 * process writes to stdout/stderr captured: Powertools Logger prints through
 * its own Console on process.stdout/stderr, so that is where to listen.
 * Nothing secret may be in a log line or in a reply where it does not belong.
 */
let stack: TestStack;
const chunks: string[] = [];
let previousLevel: string;

interface Exchange {
  endpoint:
    | 'login'
    | 'checklogin'
    | 'credit'
    | 'userinfo'
    | 'phonenumber'
    | 'logout'
    | 'spend'
    | 'checkin'
    | 'history'
    | 'profile'
    | 'nickname'
    | 'avatar';
  reply: Reply;
  /** The log output written while the request ran. */
  lines: string[];
}
const exchanges: Exchange[] = [];
const codesSent: string[] = [];
const tokensIssued: string[] = [];
const usersSeen = new Set<string>();
const accessTokensSeen = new Set<string>();
/** Presigned avatar URLs handed out: their signatures (and the keys, which name the user) must not be logged. */
const avatarUrls: string[] = [];
/** Distinctive digits, so that finding them in a log line can only mean the phone number was logged. */
const PHONE = `139${String(Date.now()).slice(-8)}`;

/** Distinctive per run, so that finding one in a log line can only mean it was logged. */
const nonce = randomBytes(6).toString('hex');
const userCode = (user: string, n: number) => {
  usersSeen.add(user);
  return `${user}.${nonce}${n}`;
};

const captured = (from: number, to = chunks.length) =>
  chunks
    .slice(from, to)
    .join('')
    .split('\n')
    .filter((line) => line.trim() !== '');

beforeAll(async () => {
  stack = await startTestStack();
  previousLevel = logger.getLevelName();
  logger.setLogLevel('DEBUG');
  captureOutput(chunks);
});

afterAll(async () => {
  vi.restoreAllMocks();
  logger.setLogLevel(previousLevel as Parameters<typeof logger.setLogLevel>[0]);
  await stack?.close();
});

/** Runs one request and keeps its reply and the log lines it produced. */
async function run(endpoint: Exchange['endpoint'], request: () => Promise<Reply>): Promise<Reply> {
  const from = chunks.length;
  const reply = await request();
  exchanges.push({ endpoint, reply, lines: captured(from) });
  const token = reply.body.token;
  if (endpoint === 'login' && reply.status === 200 && typeof token === 'string') tokensIssued.push(token);
  return reply;
}

describe('secrets never reach a log line or a reply', () => {
  it('a full run of successes and failures on every endpoint', async () => {
    const client = api(stack.deps);
    const login = (code: string, via = client) => {
      codesSent.push(code);
      return run('login', () => via.login(code));
    };
    const script = (answers: Record<string, FakeAnswer>) => stack.fake.script((code) => answers[code]);

    // Logins: new users, a retried code (replayed), a second login of the same user.
    const alice = String((await login(userCode('alice', 1))).body.token);
    await login(userCode('alice', 1));
    const alice2 = String((await login(userCode('alice', 2))).body.token);
    const bob = String((await login(userCode('bob', 1))).body.token);

    // checklogin and credit, by header and by ?token=, with no, junk, unknown and ambiguous tokens.
    await run('checklogin', () => client.checklogin(alice));
    await run('checklogin', () => client.invoke('checklogin', { method: 'GET', path: '/checklogin', query: { token: bob } }));
    await run('checklogin', () => client.checklogin('not-a-token'));
    await run('credit', () => client.credit(alice2));
    await run('credit', () => client.invoke('credit', { method: 'GET', path: '/credit', query: { token: bob } }));
    await run('credit', () => client.invoke('credit', { method: 'GET', path: '/credit' }));
    await run('credit', () => client.credit('B'.repeat(43)));
    await run('credit', () =>
      client.invoke('credit', { method: 'GET', path: '/credit', headers: { authorization: `Bearer ${alice}` }, query: { token: bob } }),
    );

    // userinfo: passes, fails the signature, data of another user or app, malformed.
    const payload = userInfoPayload({ ...stack.fake.user('alice'), appId: APP_ID, nickName: 'Alice' });
    await run('userinfo', () => client.userinfo(alice, payload));
    await run('userinfo', () => client.userinfo(alice, { ...payload, rawData: payload.rawData.replace('Alice', 'Eve') }));
    await run('userinfo', () => client.userinfo(alice, userInfoPayload({ ...stack.fake.user('bob'), appId: APP_ID, nickName: 'Bob' })));
    await run('userinfo', () => client.userinfo(alice, userInfoPayload({ ...stack.fake.user('alice'), appId: 'wxffffffffffffffff', nickName: 'A' })));
    await run('userinfo', () => client.userinfo(bob, payload));
    await run('userinfo', () => client.userinfo(alice, { encryptedData: payload.encryptedData, iv: 'AAAA' }));
    await run('userinfo', () => client.userinfo(alice, { encryptedData: payload.encryptedData, iv: payload.iv, rawData: payload.rawData }));
    await run('userinfo', () => client.invoke('userinfo', { method: 'POST', path: '/userinfo', body: payload }));

    // What WeChat says: each documented errcode, busy (then recovering), an unmapped one.
    for (const code of ['fail-40029', 'fail-40226', 'fail-45011', 'fail--1', 'fail-40013']) await login(code);
    script({ [userCode('carol', 1)]: { json: { errcode: 40163, errmsg: 'code been used, rid: 1' } } });
    await login(userCode('carol', 1));
    let busyOnce = 0;
    stack.fake.script((code) => (code === `dave.${nonce}1` && busyOnce++ === 0 ? { json: { errcode: -1, errmsg: 'busy' } } : undefined));
    await login(userCode('dave', 1));

    // WeChat failing: a hang (timeout), 5xx pages that quote the request (secret and code included), broken JSON, a drop.
    const echo = (code: string): FakeAnswer => ({
      status: 502,
      contentType: 'text/html',
      text: `<html>Bad Gateway: GET /sns/jscode2session?appid=${APP_ID}&secret=${APP_SECRET}&js_code=${code}</html>`,
    });
    script({
      [userCode('erin', 1)]: 'hang',
      [userCode('erin', 2)]: echo(`erin.${nonce}2`),
      [userCode('erin', 3)]: { status: 500, text: '' },
      [userCode('erin', 4)]: { text: `{"openid":"${stack.fake.user('erin').openid}","session_key":"${stack.fake.user('erin').sessionKey}` },
      [userCode('erin', 5)]: 'drop',
      [userCode('erin', 6)]: { json: { errcode: 40125, errmsg: `invalid appsecret ${APP_SECRET}, rid: 9` } },
    });
    for (let n = 1; n <= 6; n++) await login(`erin.${nonce}${n}`);
    stack.fake.script(undefined);

    // WeChat unreachable.
    const freePortFor = await freePort();
    const offline = api({
      ...stack.deps,
      code2Session: (_app, code) =>
        createCode2Session({
          apiBase: `http://127.0.0.1:${freePortFor}`,
          appId: APP_ID,
          secret: async () => APP_SECRET,
          timeoutMs: 500,
        })(code),
    });
    await login(userCode('frank', 1), offline);

    // Bad input.
    for (const body of ['{"code":', '', JSON.stringify({ code: APP_SECRET.replace(/-/g, ' ') }), JSON.stringify({ code: 'x'.repeat(200) })]) {
      await run('login', () => client.invoke('login', { method: 'POST', path: '/login', body }));
    }
    await run('login', () =>
      client.invoke('login', { method: 'POST', path: '/login', body: JSON.stringify({ code: 'a', pad: 'x'.repeat(40_000) }) }),
    );
    // A client that sends its token where the code goes (WeChat refuses it): the token must not be logged either.
    stack.fake.script((code) => (code === alice ? { json: { errcode: 40029, errmsg: 'invalid code, rid: 2' } } : undefined));
    await login(alice);
    stack.fake.script(undefined);

    // Storage down, and storage misconfigured (500, logged as an error).
    const down = api(allDeps({ ...stack.config, dynamodbEndpoint: `http://127.0.0.1:${await freePort()}` }));
    await login(userCode('grace', 1), down);
    await run('credit', () => down.credit(alice));
    const misconfigured = api(
      allDeps({ ...stack.config, tables: { sessions: 'no-such', users: 'no-such', logins: 'no-such', appCache: 'no-such', ledger: 'no-such' } }),
    );
    await run('checklogin', () => misconfigured.checklogin(alice));

    // The session expires (injected clock).
    stack.clock.advanceSeconds(stack.config.sessionTtlSeconds);
    try {
      await run('checklogin', () => client.checklogin(alice));
      await run('credit', () => client.credit(alice));
      await run('userinfo', () => client.userinfo(alice, payload));
    } finally {
      stack.clock.advanceSeconds(-stack.config.sessionTtlSeconds);
    }

    // WeChat's server APIs: the phone number (never logged), session_key checks with the shared
    // access_token (refreshed after WeChat expires it), a rotated session_key, logging out.
    const rememberAccessToken = async () => {
      for (const item of await scanAll(stack.admin, stack.tables.appCache)) accessTokensSeen.add(String(item.accessToken));
    };
    const phone = (token: string, code: string) => {
      codesSent.push(code);
      return run('phonenumber', () =>
        client.invoke('phonenumber', { method: 'POST', path: '/phonenumber', headers: { authorization: `Bearer ${token}` }, body: { code } }),
      );
    };
    const verify = (token: string) =>
      run('checklogin', () =>
        client.invoke('checklogin', {
          method: 'GET',
          path: '/checklogin',
          headers: { authorization: `Bearer ${token}` },
          query: { verify: 'wechat' },
        }),
      );
    const replacing = (token: string, code: string) => {
      codesSent.push(code);
      return run('phonenumber', () =>
        client.invoke('phonenumber', {
          method: 'POST',
          path: '/phonenumber',
          headers: { authorization: `Bearer ${token}` },
          body: { code, replace: true },
        }),
      );
    };
    expect((await phone(alice, `phone-${PHONE}`)).status).toBe(200);
    // Known now: refused without WeChat, unless replacing.
    expect((await phone(alice, `phone-${PHONE}1`)).body.code).toBe('PHONE_ALREADY_KNOWN');
    await replacing(alice, `phone-${PHONE}`);
    await replacing(alice, userCode('alice', 9));
    await replacing(alice, 'fail-45009');
    await replacing(alice, 'fail-1400001');

    // The profile: the number only masked, a nickname checked by WeChat, an avatar and its presigned URL.
    const profile = await run('profile', () => client.profile(alice));
    expect(profile.body.phone).toEqual({ known: true, masked: `${PHONE.slice(0, 3)}****${PHONE.slice(-4)}` });
    expect((await run('nickname', () => client.setNickname(alice, { nickName: 'Alice Secretless' }))).status).toBe(200);
    expect((await run('nickname', () => client.setNickname(alice, { nickName: 'risky words' }))).status).toBe(422);
    expect((await run('nickname', () => client.setNickname(alice, { nickName: 'x fail--1' }))).status).toBe(503);
    expect((await run('nickname', () => client.setNickname(alice, { nickName: '' }))).status).toBe(400);
    const uploaded = await run('avatar', () => client.avatar(alice, uploadFileBody(IMAGES.jpeg)));
    expect(uploaded.status).toBe(200);
    avatarUrls.push(String(uploaded.body.avatarUrl));
    expect((await run('avatar', () => client.avatar(alice, uploadFileBody(IMAGES.html)))).status).toBe(400);
    expect((await run('avatar', () => client.avatar(undefined, uploadFileBody(IMAGES.png)))).status).toBe(401);
    avatarUrls.push(String((await run('profile', () => client.profile(alice))).body.avatarUrl));
    await rememberAccessToken();
    await verify(bob);
    stack.fake.expireAccessToken();
    await verify(bob);
    await rememberAccessToken();
    stack.fake.rotateSessionKey('bob');
    await run('userinfo', () => client.userinfo(bob, userInfoPayload({ ...stack.fake.user('bob'), appId: APP_ID, nickName: 'Bob' })));
    // Points: spends (ok, retried, refused, reused key, bad input), a check-in, the history.
    await run('spend', () => client.spend(alice, { amount: 30, key: `spend-${nonce}`, reason: 'coupon' }));
    await run('spend', () => client.spend(alice, { amount: 30, key: `spend-${nonce}`, reason: 'coupon' }));
    await run('spend', () => client.spend(alice, { amount: 31, key: `spend-${nonce}`, reason: 'coupon' }));
    await run('spend', () => client.spend(alice, { amount: 1_000_000, key: `spend-${nonce}-2` }));
    await run('spend', () => client.spend(alice, { amount: 1, key: APP_SECRET }));
    await run('checkin', () => client.checkin(alice));
    await run('checkin', () => client.checkin(alice));
    await run('history', () => client.history(alice, { limit: '1' }));
    await run('history', () => client.history(alice, { cursor: 'forged' }));
    // A risky new user (the grant held back) and a risk check that fails: the rank is logged as a number only.
    await login(userCode('risk4', 1));
    stack.fake.scriptRisk(() => ({ json: { errcode: -1, errmsg: 'system error' } }));
    await login(userCode('henry', 1));
    stack.fake.scriptRisk(undefined);

    await run('logout', () => client.logout(alice2));
    await run('logout', () => client.logout(bob, true));
    expect(accessTokensSeen.size).toBe(2);

    // The run covered what it claims to.
    const statuses = new Set(exchanges.map((e) => e.reply.status));
    expect([...statuses].sort()).toEqual(expect.arrayContaining([200, 400, 401, 403, 409, 413, 422, 429, 500, 502, 503, 504]));
    expect(tokensIssued.length).toBeGreaterThanOrEqual(5);
  });

  it('every log line is JSON, and every request logged at least one line with its endpoint and status', () => {
    const lines = captured(0);
    expect(lines.length).toBeGreaterThanOrEqual(exchanges.length);
    for (const line of lines) expect(() => JSON.parse(line), line.slice(0, 200)).not.toThrow();
    for (const { endpoint, reply, lines: own } of exchanges) {
      const entries = own.map((line) => JSON.parse(line) as Record<string, unknown>);
      const summary = entries.filter((entry) => entry.endpoint === endpoint && entry.status === reply.status);
      expect(summary.length, `${endpoint} ${reply.status}: ${own.join('\n')}`).toBeGreaterThanOrEqual(1);
      if (reply.status !== 200) expect(summary[0]?.code).toBe(reply.body.code);
    }
  });

  it('no log line carries the AppSecret, a session_key, a token, a login or phone code, an openid, a unionid, a phone number or an access_token', () => {
    const users = [...usersSeen].map((name) => stack.fake.user(name));
    const forbidden: [string, string][] = [
      ['the AppSecret', APP_SECRET],
      ...users.map((u): [string, string] => ['a session_key', u.sessionKey]),
      ...users.map((u): [string, string] => ['an openid', u.openid]),
      ...users.map((u): [string, string] => ['a unionid', u.unionid]),
      ...tokensIssued.map((t): [string, string] => ['a token', t]),
      ['the phone number', PHONE],
      ...[...accessTokensSeen].map((t): [string, string] => ["WeChat's access_token", t]),
      ...codesSent.filter((c) => !c.startsWith('fail-')).map((c): [string, string] => ['a login code', c]),
      ...avatarUrls.map((url): [string, string] => ["an avatar URL's signature", String(new URL(url).searchParams.get('X-Amz-Signature'))]),
      ...avatarUrls.map((url): [string, string] => ["an avatar's key", new URL(url).pathname.split('/').slice(-2).join('/')]),
    ];
    const log = captured(0).join('\n');
    expect(log.length).toBeGreaterThan(0);
    for (const [what, value] of forbidden) expect(log.includes(value), `${what} is in the logs: ${value}`).toBe(false);
    // `fail-40029` and friends are too generic to search for as text: check that no field holds a code.
    for (const line of captured(0)) {
      const values = Object.values(JSON.parse(line) as Record<string, unknown>);
      for (const code of codesSent) expect(values, line).not.toContain(code);
    }
  });

  it('no reply carries the AppSecret, a session_key or a login code, and a token or openid only in the reply it belongs to', () => {
    const users = [...usersSeen].map((name) => stack.fake.user(name));
    for (const { endpoint, reply } of exchanges) {
      const where = `${endpoint} ${reply.status}: ${reply.raw.slice(0, 200)}`;
      expect(reply.raw, where).not.toContain(APP_SECRET);
      for (const { sessionKey } of users) expect(reply.raw.includes(sessionKey), where).toBe(false);
      // (One "code" was a token sent by mistake; the token check below covers it.)
      const codes = codesSent.filter((c) => !c.startsWith('fail-') && !tokensIssued.includes(c));
      for (const code of codes) expect(reply.raw.includes(code), where).toBe(false);
      const ownToken = endpoint === 'login' && reply.status === 200 ? reply.body.token : undefined;
      for (const token of tokensIssued.filter((t) => t !== ownToken)) expect(reply.raw.includes(token), where).toBe(false);
      // Only a passing /userinfo returns the profile, with that user's own openId/unionId.
      const ownIds =
        endpoint === 'userinfo' && reply.body.pass === true
          ? [String((reply.body.userInfo as Record<string, unknown>).openId), String((reply.body.userInfo as Record<string, unknown>).unionId)]
          : [];
      // The whole phone number only in the reply of the request that got it.
      if (endpoint !== 'phonenumber') expect(reply.raw.includes(PHONE), where).toBe(false);
      for (const { openid, unionid } of users) {
        if (!ownIds.includes(openid)) expect(reply.raw.includes(openid), where).toBe(false);
        if (!ownIds.includes(unionid)) expect(reply.raw.includes(unionid), where).toBe(false);
      }
    }
  });
});
