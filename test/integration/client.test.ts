import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiError, type Client, createClient, type UserData } from '../../client/src/index.ts';
import { type NodeWxOptions, nodeWx } from '../../local/node-wx.ts';
import { type HttpApi, startHttpApi } from '../support/http-api.ts';
import { IMAGES } from '../support/multipart.ts';
import { useTestStack } from '../support/use-stack.ts';

/**
 * The mini-program client against the real stack: the real handlers behind
 * real HTTP, DynamoDB Local, the fake WeChat over HTTP. Only `wx` is a
 * stand-in (local/node-wx.ts), whose login hands out codes the fake accepts.
 * Sessions last 60 s, and the server's clock is the stack's, moved by hand.
 */
const TTL_SECONDS = 60;
const { stack } = useTestStack({ SESSION_TTL_SECONDS: String(TTL_SECONDS) });
let api: HttpApi;
beforeAll(async () => {
  api = await startHttpApi(stack.deps);
});
afterAll(() => api?.close());

let users = 0;
/** A fresh user each time, so that tests never share sessions. */
const newUser = (name: string) => `${name}${++users}`;

function device(options: NodeWxOptions, now: () => number = stack.clock.now): { wx: ReturnType<typeof nodeWx>; client: Client } {
  const wx = nodeWx(options);
  return { wx, client: createClient({ baseUrl: api.url, wx, now }) };
}

/** `__fake/userinfo`: what wx.getUserInfo() gives the user now, encrypted under WeChat's current session_key. */
const userData = async (user: string) => (await (await fetch(`${stack.fake.url}/__fake/userinfo?user=${user}`)).json()) as UserData;

const rejection = async (promise: Promise<unknown>): Promise<ApiError> => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
};

describe('the mini-program client against the real stack', () => {
  it('10 parallel requests from a logged-out client make one wx.login and one POST /login, and all 10 succeed', async () => {
    const user = newUser('para');
    const { wx, client } = device({ user });
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? client.credit() : client.request('/credit'))));
    expect(replies).toEqual(Array.from({ length: 10 }, () => ({ credit: 100 })));
    expect(wx.logins).toBe(1);
    expect(wx.trace().filter((line) => line.startsWith('POST /login'))).toEqual(['POST /login -> 200']);
    expect(wx.trace().filter((line) => line === 'GET /credit -> 200')).toHaveLength(10);
    expect(stack.fake.codes.filter((code) => code.startsWith(`${user}.`))).toHaveLength(1);
  });

  it('keeps the token with its expiry: a client started again on the same storage does not log in while it lives, and does once it has expired', async () => {
    const user = newUser('keep');
    const first = device({ user });
    await first.client.credit();

    const again = device({ user, storage: first.wx.storage });
    expect(await again.client.credit()).toEqual({ credit: 100 });
    expect(again.wx.logins).toBe(0);
    expect(again.wx.trace()).toEqual(['GET /credit -> 200']);

    // Past expires_in on both clocks: the client knows before asking, so no 401 either.
    stack.clock.advanceSeconds(TTL_SECONDS + 1);
    const later = device({ user, storage: first.wx.storage });
    expect(await later.client.credit()).toEqual({ credit: 100 });
    expect(later.wx.logins).toBe(1);
    expect(later.wx.trace()).toEqual(['POST /login -> 200', 'GET /credit -> 200']);
  });

  it('after logout?all=1 from another client of the same user, the next calls re-log in once, together and transparently', async () => {
    const user = newUser('multi');
    const phone = device({ user });
    const tablet = device({ user });
    await phone.client.credit();
    await tablet.client.credit();
    expect(await tablet.client.logout({ all: true })).toEqual({ logged_out: true, sessions_revoked: 2 });

    const replies = await Promise.all([phone.client.credit(), phone.client.credit(), phone.client.request('/credit')]);
    expect(replies).toEqual([{ credit: 100 }, { credit: 100 }, { credit: 100 }]);
    expect(phone.wx.logins).toBe(2);
    // Each call was refused once and retried once; the replies may interleave with the login's.
    expect(phone.wx.trace().slice(2).sort()).toEqual([
      'GET /credit -> 200',
      'GET /credit -> 200',
      'GET /credit -> 200',
      'GET /credit -> 401',
      'GET /credit -> 401',
      'GET /credit -> 401',
      'POST /login -> 200',
    ]);
    expect((await tablet.client.checkLogin()).is_login).toBe(false);
  });

  it('WeChat failing at login gives a typed error after one attempt, with no loop, to every waiting call; the next call tries again', async () => {
    const user = newUser('busy');
    const { wx, client } = device({ user, codes: ['fail--1', 'fail-40029'] });
    const errors = await Promise.all([rejection(client.credit()), rejection(client.credit()), rejection(client.request('/credit'))]);
    for (const err of errors) expect(err).toMatchObject({ status: 503, code: 'WECHAT_BUSY' });
    expect(wx.logins).toBe(1);
    expect(wx.trace()).toEqual(['POST /login -> 503']);

    expect(await rejection(client.credit())).toMatchObject({ status: 400, code: 'INVALID_CODE' });
    expect(wx.logins).toBe(2);

    expect(await client.credit()).toEqual({ credit: 100 });
    expect(wx.trace()).toEqual(['POST /login -> 503', 'POST /login -> 400', 'POST /login -> 200', 'GET /credit -> 200']);
  });

  it('wx.login() itself failing is WX_LOGIN_FAILED, and nothing is sent', async () => {
    const { wx, client } = device({ user: newUser('offline'), loginFailures: 1 });
    expect(await rejection(client.credit())).toMatchObject({ status: 0, code: 'WX_LOGIN_FAILED' });
    expect(wx.exchanges).toEqual([]);
  });

  it("a token the server has expired (the phone's clock behind) costs one transparent re-login", async () => {
    const user = newUser('late');
    const behind = stack.clock.now() - 3600_000;
    const { wx, client } = device({ user }, () => behind);
    await client.credit();
    stack.clock.advanceSeconds(TTL_SECONDS + 1);
    expect(await client.credit()).toEqual({ credit: 100 });
    expect(wx.logins).toBe(2);
    expect(wx.trace()).toEqual(['POST /login -> 200', 'GET /credit -> 200', 'GET /credit -> 401', 'POST /login -> 200', 'GET /credit -> 200']);
  });

  it('a second 401 after the re-login is the error: one extra login per call, never a loop', async () => {
    const user = newUser('again');
    const behind = stack.clock.now() - 3600_000;
    const { wx, client } = device(
      {
        user,
        // Each new session dies at once: the server's clock jumps past it as soon as /login has answered.
        onReply: (exchange) => {
          if (exchange.path === '/login') stack.clock.advanceSeconds(TTL_SECONDS + 1);
        },
      },
      () => behind,
    );
    expect(await rejection(client.credit())).toMatchObject({ status: 401, code: 'SESSION_INVALID' });
    expect(wx.trace()).toEqual(['POST /login -> 200', 'GET /credit -> 401', 'POST /login -> 200', 'GET /credit -> 401']);
    expect(await rejection(client.credit())).toMatchObject({ status: 401, code: 'SESSION_INVALID' });
    expect(wx.logins).toBe(3);
  });

  it('userInfo() answered SESSION_KEY_EXPIRED (a later wx.login() rotated the key) logs in again and rejects with that code; data fetched after that passes', async () => {
    const user = newUser('rot');
    const { wx, client } = device({ user });
    await client.login();
    // What a wx.login() outside the client does: WeChat's key moves on, the session keeps the old one.
    await fetch(`${stack.fake.url}/__fake/rotate-session-key?user=${user}`);
    const data = await userData(user);

    expect(await rejection(client.userInfo(data))).toMatchObject({ status: 401, code: 'SESSION_KEY_EXPIRED' });
    expect(wx.logins).toBe(2);
    expect(wx.trace()).toEqual(['POST /login -> 200', 'POST /userinfo -> 401', 'POST /login -> 200']);

    // The documented order: logged in first, then the data, then userInfo(): it passes, with no login.
    const fresh = await userData(user);
    expect(await client.userInfo(fresh)).toMatchObject({ pass: true, userInfo: { nickName: user } });
    expect(wx.logins).toBe(2);
  });

  it('phoneNumber() saves the number; checkLogin() asks nothing without a token and forgets a dead one; logout() ends the session', async () => {
    const user = newUser('phone');
    const { wx, client } = device({ user });
    expect(await client.checkLogin()).toEqual({ is_login: false });
    expect(wx.exchanges).toEqual([]);

    expect(await client.phoneNumber('phone-13800138000')).toEqual({
      phoneNumber: '+8613800138000',
      purePhoneNumber: '13800138000',
      countryCode: '86',
    });
    expect(await client.checkLogin({ verify: true })).toEqual({ is_login: true, session_key_valid: true });
    // The number is known now: only a replacement asks WeChat again, which refuses wx.login()'s code here.
    expect(await rejection(client.phoneNumber(`${user}.9`, { replace: true }))).toMatchObject({ status: 400, code: 'INVALID_CODE' });

    expect(await client.logout()).toEqual({ logged_out: true, sessions_revoked: 1 });
    expect(wx.storage.size).toBe(0);
    expect(await client.checkLogin()).toEqual({ is_login: false });
    expect(await client.logout()).toEqual({ logged_out: true, sessions_revoked: 0 });
    expect(wx.trace().slice(-1)).toEqual(['POST /logout -> 200']);
  });

  it("request(path, { auth: false }) sends no token and never logs in; the server's own errors come back typed", async () => {
    const { wx, client } = device({ user: newUser('anon') });
    expect(await rejection(client.request('/credit', { auth: false }))).toMatchObject({
      status: 401,
      code: 'UNAUTHENTICATED',
      message: expect.stringContaining('Authorization'),
    });
    expect(await rejection(client.request('/login', { method: 'POST', data: { code: 42 }, auth: false }))).toMatchObject({
      status: 400,
      code: 'INVALID_REQUEST',
    });
    expect(await rejection(client.request('/nowhere', { auth: false }))).toMatchObject({ status: 404, code: 'BAD_RESPONSE' });
    expect(wx.logins).toBe(0);
    expect(wx.exchanges.every((e) => !e.auth)).toBe(true);
  });

  it('a spend whose reply is lost (NETWORK) and that the user taps again spends once', async () => {
    const user = newUser('lost');
    const { wx, client } = device({ user });
    await client.credit();
    // wx whose next spend reaches the server, but whose reply never reaches the client.
    let loseNext = true;
    const lossy = createClient({
      baseUrl: api.url,
      now: stack.clock.now,
      wx: {
        ...wx,
        request(req) {
          if (!(loseNext && req.url.endsWith('/credit/spend'))) return wx.request(req);
          loseNext = false;
          wx.request({ ...req, success: () => req.fail({ errMsg: 'request:fail timeout' }) });
        },
      },
    });
    // What the Redeem button does for one coupon: the key is derived from what is bought, so every tap is the same purchase.
    const coupon = { id: 'c0001', price: 30 };
    const tap = () => lossy.spend({ amount: coupon.price, key: `coupon-${coupon.id}`, reason: 'coupon' });
    expect(await rejection(tap())).toMatchObject({ status: 0, code: 'NETWORK' });
    expect(wx.trace()).toContain('POST /credit/spend -> 200'); // it was spent on the server
    expect((await tap()).credit).toBe(70);
    expect(await client.credit()).toEqual({ credit: 70 });
  });

  it('no reply at all is NETWORK', async () => {
    const closed = createClient({ baseUrl: 'http://127.0.0.1:9', wx: nodeWx({ user: newUser('net') }) });
    expect(await rejection(closed.credit())).toMatchObject({ status: 0, code: 'NETWORK' });
  });

  it('keeps nothing but the token and its expiry, and logs nothing', async () => {
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) => vi.spyOn(console, level));
    try {
      const user = newUser('quiet');
      const { wx, client } = device({ user });
      await client.login();
      await client.userInfo(await userData(user));
      await client.phoneNumber('phone-13900139000');
      expect([...wx.storage.keys()]).toEqual(['wechat-login:token']);
      const kept = JSON.parse(wx.storage.get('wechat-login:token')!);
      expect(Object.keys(kept).sort()).toEqual(['expiresAt', 'token']);
      expect(kept.expiresAt).toBe(stack.clock.now() + TTL_SECONDS * 1000);
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it('appid is sent with /login (this one-app server ignores it) and keys the storage', async () => {
    const wx = nodeWx({ user: newUser('app') });
    const client = createClient({ baseUrl: api.url, wx, appid: 'wx1234567890abcdef', now: stack.clock.now });
    expect(await client.credit()).toEqual({ credit: 100 });
    expect(wx.exchanges[0]).toMatchObject({ path: '/login', status: 200, data: { appid: 'wx1234567890abcdef' } });
    expect([...wx.storage.keys()]).toEqual(['wechat-login:token:wx1234567890abcdef']);
  });

  it('profiles: getProfile, setNickname, uploadAvatar (wx.uploadFile, multipart, with the token) and a phone number asked once', async () => {
    const user = newUser('prof');
    const { wx, client } = device({ user });
    expect(await client.getProfile()).toEqual({ phone: { known: false } });
    expect(await client.setNickname('Profile Tester')).toEqual({ nickName: 'Profile Tester', phone: { known: false } });
    expect((await rejection(client.setNickname('risky one'))).code).toBe('CONTENT_REJECTED');

    const dir = mkdtempSync(join(tmpdir(), 'avatar-'));
    try {
      const file = join(dir, 'tmp_avatar.png');
      writeFileSync(file, IMAGES.png);
      const { avatarUrl } = await client.uploadAvatar(file);
      expect(Buffer.from(await (await fetch(avatarUrl)).arrayBuffer())).toEqual(IMAGES.png);
      const html = join(dir, 'tmp_evil.jpg');
      writeFileSync(html, IMAGES.html);
      const refused = await rejection(client.uploadAvatar(html));
      expect({ status: refused.status, code: refused.code }).toEqual({ status: 400, code: 'INVALID_IMAGE' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(wx.exchanges.find((e) => e.path === '/profile/avatar')?.auth).toBe(true);

    await client.phoneNumber('phone-13800138077');
    expect((await client.getProfile()).phone).toEqual({ known: true, masked: '138****8077' });
    expect((await rejection(client.phoneNumber('phone-13800138078'))).code).toBe('PHONE_ALREADY_KNOWN');
    expect(await client.phoneNumber('phone-13800138078', { replace: true })).toMatchObject({ purePhoneNumber: '13800138078' });
    expect(wx.logins).toBe(1);
  });

  it('uploadAvatar logs in again once when the session was refused, like every call', async () => {
    const user = newUser('prof2');
    const { wx, client } = device({ user });
    await client.credit();
    // The kept token's session ends on the server (another device logged out everywhere).
    const { token } = JSON.parse([...wx.storage.values()][0]!) as { token: string };
    await fetch(`${api.url}/logout?all=1`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    const dir = mkdtempSync(join(tmpdir(), 'avatar-'));
    try {
      const file = join(dir, 'a.jpg');
      writeFileSync(file, IMAGES.jpeg);
      expect((await client.uploadAvatar(file)).avatarUrl).toMatch(/^http/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(wx.logins).toBe(2);
  });
});
