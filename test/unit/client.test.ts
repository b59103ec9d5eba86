import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, createClient, type WxLike, type WxRequestOptions } from '../../client/src/index.ts';

/**
 * The client's lock, retry and storage rules, with a scripted `wx`: each
 * request is answered by `answer`, and a request can be held until the test
 * lets it go, to order replies exactly. The same rules run against the real
 * stack in test/integration/client.test.ts.
 */
type Reply = { status: number; body: unknown } | 'fail';
interface Sent {
  route: string;
  token: string | undefined;
  data: unknown;
}

function scriptedWx(answer: (sent: Sent, index: number) => Reply | Promise<Reply>) {
  const storage = new Map<string, unknown>();
  const sent: Sent[] = [];
  let logins = 0;
  const wx: WxLike & { storage: Map<string, unknown>; sent: Sent[]; logins: () => number } = {
    storage,
    sent,
    logins: () => logins,
    login({ success }) {
      logins += 1;
      setTimeout(() => success({ code: `code-${logins}` }), 0);
    },
    request(options: WxRequestOptions) {
      const url = new URL(options.url);
      const item = {
        route: `${options.method} ${url.pathname}${url.search}`,
        token: options.header.Authorization?.replace('Bearer ', ''),
        data: options.data,
      };
      sent.push(item);
      void Promise.resolve(answer(item, sent.length - 1)).then((reply) =>
        setTimeout(
          () =>
            reply === 'fail' ? options.fail({ errMsg: 'request:fail timeout' }) : options.success({ statusCode: reply.status, data: reply.body }),
          0,
        ),
      );
    },
    getStorageSync: (key) => storage.get(key) ?? '',
    setStorageSync: (key, value) => void storage.set(key, value),
    removeStorageSync: (key) => void storage.delete(key),
  };
  return wx;
}

/** A server: /login hands out tok-<n>; other routes accept the tokens in `live`. */
function server(live: Set<string>) {
  let issued = 0;
  return (sent: Sent): Reply => {
    if (sent.route === 'POST /login') {
      const token = `tok-${++issued}`;
      live.add(token);
      return { status: 200, body: { token, expires_in: 600 } };
    }
    if (!sent.token) return { status: 401, body: { err: 'No session token', code: 'UNAUTHENTICATED' } };
    if (!live.has(sent.token)) return { status: 401, body: { err: 'The session is unknown or expired', code: 'SESSION_INVALID' } };
    return { status: 200, body: { credit: 7 } };
  };
}

const BASE = 'https://api.example.com';
const KEY = 'wechat-login:token';
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(ApiError);
      return err as ApiError;
    },
  );

/** A promise the test resolves, to hold a reply back. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('one login at a time', () => {
  it('calls that need a session while a login is in flight wait for it and go on with its token', async () => {
    const wx = scriptedWx(server(new Set()));
    const client = createClient({ baseUrl: BASE, wx });
    const replies = await Promise.all([client.credit(), client.credit(), client.request('/credit'), client.login()]);
    expect(replies.slice(0, 3)).toEqual([{ credit: 7 }, { credit: 7 }, { credit: 7 }]);
    expect(replies[3]).toEqual({ token: 'tok-1', expires_in: 600 });
    expect(wx.logins()).toBe(1);
    expect(wx.sent.filter((s) => s.route === 'GET /credit').map((s) => s.token)).toEqual(['tok-1', 'tok-1', 'tok-1']);
  });

  it('a 401 that arrives after another call already logged in again goes on with that token: no second login', async () => {
    const live = new Set<string>();
    const late = gate();
    const answer = server(live);
    const wx = scriptedWx(async (sent, index) => {
      if (index === 1) await late.opened; // the second stale request's 401 comes back last
      return answer(sent);
    });
    wx.storage.set(KEY, { token: 'stale', expiresAt: Date.now() + 60_000 });
    const client = createClient({ baseUrl: BASE, wx });
    const first = client.credit();
    const second = client.credit();
    expect(await first).toEqual({ credit: 7 });
    late.open();
    expect(await second).toEqual({ credit: 7 });
    expect(wx.logins()).toBe(1);
    expect(wx.sent.map((s) => `${s.route} ${s.token ?? ''}`)).toEqual([
      'GET /credit stale',
      'GET /credit stale',
      'POST /login ',
      'GET /credit tok-1',
      'GET /credit tok-1',
    ]);
  });
});

describe('re-login once', () => {
  it('a second 401 rejects: the kept token was refused, one login, one retry, and no more', async () => {
    const wx = scriptedWx((sent) =>
      sent.route === 'POST /login'
        ? { status: 200, body: { token: `fresh-${sent.data && (sent.data as { code: string }).code}`, expires_in: 600 } }
        : { status: 401, body: { err: 'The session is unknown or expired', code: 'SESSION_INVALID' } },
    );
    wx.storage.set(KEY, { token: 'stale', expiresAt: Date.now() + 60_000 });
    const client = createClient({ baseUrl: BASE, wx });
    expect(await rejection(client.credit())).toMatchObject({ status: 401, code: 'SESSION_INVALID', message: 'The session is unknown or expired' });
    expect(wx.logins()).toBe(1);
    expect(wx.sent.map((s) => s.route)).toEqual(['GET /credit', 'POST /login', 'GET /credit']);
  });

  it('UNAUTHENTICATED is cured the same way', async () => {
    let refused = false;
    const answer = server(new Set());
    const wx = scriptedWx((sent) => {
      if (sent.route === 'GET /credit' && !refused) {
        refused = true;
        return { status: 401, body: { err: 'No session token', code: 'UNAUTHENTICATED' } };
      }
      return answer(sent);
    });
    wx.storage.set(KEY, { token: 'tok-0', expiresAt: Date.now() + 60_000 });
    expect(await createClient({ baseUrl: BASE, wx }).credit()).toEqual({ credit: 7 });
    expect(wx.logins()).toBe(1);
  });

  it('other errors are not retried and cost no login', async () => {
    const wx = scriptedWx(() => ({ status: 503, body: { err: 'Storage is unavailable', code: 'STORAGE_UNAVAILABLE' } }));
    wx.storage.set(KEY, { token: 'tok-0', expiresAt: Date.now() + 60_000 });
    expect(await rejection(createClient({ baseUrl: BASE, wx }).credit())).toMatchObject({ status: 503, code: 'STORAGE_UNAVAILABLE' });
    expect(wx.logins()).toBe(0);
    expect(wx.sent).toHaveLength(1);
  });

  it('a failing login rejects every call waiting for it with its error, and is not remembered', async () => {
    let logins = 0;
    const answer = server(new Set());
    const wx = scriptedWx((sent) =>
      sent.route === 'POST /login' && ++logins === 1
        ? { status: 504, body: { err: 'WeChat did not answer in time', code: 'WECHAT_TIMEOUT' } }
        : answer(sent),
    );
    const client = createClient({ baseUrl: BASE, wx });
    const errors = await Promise.all([rejection(client.credit()), rejection(client.credit())]);
    expect(errors.map((e) => e.code)).toEqual(['WECHAT_TIMEOUT', 'WECHAT_TIMEOUT']);
    expect(wx.logins()).toBe(1);
    expect(await client.credit()).toEqual({ credit: 7 });
    expect(wx.logins()).toBe(2);
  });
});

describe('stale session_key', () => {
  const keyExpired = { status: 401, body: { err: 'session_key rotated', code: 'SESSION_KEY_EXPIRED' } };
  const data = { encryptedData: 'ZW5j', iv: 'aXY=', rawData: '{}', signature: 'sig' };

  it('userInfo() answered SESSION_KEY_EXPIRED logs in again, then rejects with that code', async () => {
    const answer = server(new Set(['tok-0']));
    const wx = scriptedWx((sent) => (sent.route === 'POST /userinfo' ? keyExpired : answer(sent)));
    wx.storage.set(KEY, { token: 'tok-0', expiresAt: Date.now() + 60_000 });
    const client = createClient({ baseUrl: BASE, wx });
    expect(await rejection(client.userInfo({ ...data, userInfo: {}, errMsg: 'getUserInfo:ok' } as typeof data))).toMatchObject({
      code: 'SESSION_KEY_EXPIRED',
    });
    expect(wx.sent.map((s) => s.route)).toEqual(['POST /userinfo', 'POST /login']);
    // Only the four fields WeChat signs and encrypts are sent.
    expect(wx.sent[0]!.data).toEqual(data);
    expect((wx.storage.get(KEY) as { token: string }).token).toBe('tok-1');
  });

  it('a call that has logged in already does not log in again for it', async () => {
    const answer = server(new Set());
    const wx = scriptedWx((sent) => (sent.route === 'POST /userinfo' ? keyExpired : answer(sent)));
    expect(await rejection(createClient({ baseUrl: BASE, wx }).userInfo(data))).toMatchObject({ code: 'SESSION_KEY_EXPIRED' });
    expect(wx.logins()).toBe(1);
  });

  it('when that login fails, the rejection is still SESSION_KEY_EXPIRED and the stale token is gone', async () => {
    const wx = scriptedWx((sent) => (sent.route === 'POST /userinfo' ? keyExpired : 'fail'));
    wx.storage.set(KEY, { token: 'tok-0', expiresAt: Date.now() + 60_000 });
    expect(await rejection(createClient({ baseUrl: BASE, wx }).userInfo(data))).toMatchObject({ code: 'SESSION_KEY_EXPIRED' });
    expect(wx.storage.has(KEY)).toBe(false);
  });
});

describe('replies that are not the contract', () => {
  it.each([
    ['a 200 that is not JSON', { status: 200, body: '<html>captive portal</html>' }, 200],
    ['a gateway error without our code', { status: 503, body: { message: 'Service Unavailable' } }, 503],
    ['an HTML error page', { status: 502, body: '<html>Bad Gateway</html>' }, 502],
  ])('%s is BAD_RESPONSE with the status', async (_, reply, status) => {
    const wx = scriptedWx(() => reply);
    expect(await rejection(createClient({ baseUrl: BASE, wx }).request('/credit', { auth: false }))).toMatchObject({ status, code: 'BAD_RESPONSE' });
  });

  it('a /login reply without a token is BAD_RESPONSE, and nothing is kept', async () => {
    const wx = scriptedWx(() => ({ status: 200, body: { ok: true } }));
    expect(await rejection(createClient({ baseUrl: BASE, wx }).credit())).toMatchObject({ status: 200, code: 'BAD_RESPONSE' });
    expect(wx.storage.size).toBe(0);
  });

  it("no reply is NETWORK with wx's errMsg", async () => {
    const wx = scriptedWx(() => 'fail');
    expect(await rejection(createClient({ baseUrl: BASE, wx }).request('/credit', { auth: false }))).toMatchObject({
      status: 0,
      code: 'NETWORK',
      message: 'request:fail timeout',
    });
  });
});

describe('spend', () => {
  const spendServer = (live: Set<string>) => {
    const base = server(live);
    return (sent: Sent): Reply =>
      sent.route === 'POST /credit/spend' && live.has(sent.token ?? '') ? { status: 200, body: { credit: 1 } } : base(sent);
  };

  it('needs a key: a compile error without one, and at run time a TypeError with nothing sent', async () => {
    const wx = scriptedWx(spendServer(new Set()));
    const client = createClient({ baseUrl: BASE, wx });
    for (const call of [
      // @ts-expect-error the key is required
      () => client.spend({ amount: 10 }),
      () => client.spend({ amount: 10, key: 'short' }),
      () => client.spend({ amount: 10, key: 'order:0001' }),
      // @ts-expect-error the old signature, spend(amount, options)
      () => client.spend(10, { key: 'order-0001' }),
      // @ts-expect-error no intent at all
      () => client.spend(),
    ]) {
      await expect(call()).rejects.toThrow(
        new TypeError('spend: key is required, 8-64 of A-Z a-z 0-9 _ -, the same for every retry of one purchase (e.g. its order id)'),
      );
    }
    expect(wx.sent).toEqual([]);
    expect(wx.logins()).toBe(0);
  });

  it("sends the caller's key on every attempt: after NETWORK, after a 5xx, and in its own retry after a re-login", async () => {
    const live = new Set<string>();
    const answer = spendServer(live);
    const wx = scriptedWx((sent, index) => {
      if (index === 1) return 'fail';
      if (index === 2) return { status: 503, body: { err: 'Storage is unavailable', code: 'STORAGE_UNAVAILABLE' } };
      if (index === 3) live.clear(); // the session ends: a 401, a re-login, the same spend again
      return answer(sent);
    });
    const client = createClient({ baseUrl: BASE, wx });
    const intent = { amount: 10, key: 'order-0001', reason: 'coupon' };
    expect(await rejection(client.spend(intent))).toMatchObject({ status: 0, code: 'NETWORK' });
    expect(await rejection(client.spend(intent))).toMatchObject({ status: 503, code: 'STORAGE_UNAVAILABLE' });
    expect(await client.spend(intent)).toEqual({ credit: 1 });
    const spends = wx.sent.filter((s) => s.route === 'POST /credit/spend');
    expect(spends.map((s) => s.data)).toEqual(Array.from({ length: 4 }, () => intent));
    expect(wx.logins()).toBe(2);
  });
});

describe('the kept token', () => {
  it("is dropped once its expiry passes by the client's clock, before any request", async () => {
    let now = 1_000_000;
    const wx = scriptedWx(server(new Set()));
    const client = createClient({ baseUrl: BASE, wx, now: () => now });
    await client.credit();
    expect(wx.storage.get(KEY)).toEqual({ token: 'tok-1', expiresAt: 1_000_000 + 600_000 });
    now += 600_000;
    expect(await client.checkLogin()).toEqual({ is_login: false });
    expect(wx.storage.has(KEY)).toBe(false);
    expect(wx.sent.map((s) => s.route)).toEqual(['POST /login', 'GET /credit']);
  });

  it.each([
    ['not an object', 'tok-0'],
    ['missing its expiry', { token: 'tok-0' }],
  ])('a stored value %s is ignored: the client logs in', async (_, value) => {
    const wx = scriptedWx(server(new Set()));
    wx.storage.set(KEY, value);
    expect(await createClient({ baseUrl: BASE, wx }).credit()).toEqual({ credit: 7 });
    expect(wx.logins()).toBe(1);
  });

  it('storage that throws costs a login, never a failed call', async () => {
    const wx = scriptedWx(server(new Set()));
    wx.getStorageSync = () => {
      throw new Error('getStorageSync:fail');
    };
    wx.setStorageSync = () => {
      throw new Error('setStorageSync:fail exceed storage max size 10Mb');
    };
    const client = createClient({ baseUrl: BASE, wx });
    expect(await client.credit()).toEqual({ credit: 7 });
    expect(await client.credit()).toEqual({ credit: 7 });
    expect(wx.logins()).toBe(1);
  });

  it('logout() forgets it even when the server cannot be told, and says so', async () => {
    const wx = scriptedWx(() => 'fail');
    wx.storage.set(KEY, { token: 'tok-0', expiresAt: Date.now() + 60_000 });
    expect(await rejection(createClient({ baseUrl: BASE, wx }).logout({ all: true }))).toMatchObject({ code: 'NETWORK' });
    expect(wx.sent.map((s) => `${s.route} ${s.token}`)).toEqual(['POST /logout?all=1 tok-0']);
    expect(wx.storage.has(KEY)).toBe(false);
  });
});

describe('createClient', () => {
  afterEach(() => {
    delete (globalThis as { wx?: unknown }).wx;
  });

  it('uses the global wx by default', async () => {
    const wx = scriptedWx(server(new Set()));
    (globalThis as { wx?: unknown }).wx = wx;
    expect(await createClient({ baseUrl: `${BASE}/` }).credit()).toEqual({ credit: 7 });
    expect(wx.sent[0]!.route).toBe('POST /login');
  });

  it('without one, says to pass it', () => {
    expect(() => createClient({ baseUrl: BASE })).toThrow(/pass \{ wx \}/);
  });
});
