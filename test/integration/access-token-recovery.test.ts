import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#lib/aws/dynamodb';
import { createAccessTokens } from '#lib/wechat/access-token';
import { type AccessTokenStore, createAccessTokenStore } from '#lib/wechat/access-token-store';
import { createCheckSessionKey } from '#lib/wechat/session-check';
import { allDeps } from '#lib/wiring';
import { createTables } from '../../local/tables.ts';
import { api } from '../support/invoke.ts';
import { APP_ID, APP_SECRET } from '../support/stack.ts';
import { useTestStack } from '../support/use-stack.ts';

// The clock only moves forward in this file: the fake WeChat counts force_refresh calls on it.
const { stack, client } = useTestStack();

const extraTables: string[] = [];
/** Another app-cache table: another stage's cache, or a cache no test has touched yet. */
async function appCacheTable(name: string): Promise<string> {
  const appCache = `${stack.tables.appCache}-${name}`;
  await createTables(stack.admin, { ...stack.tables, appCache });
  extraTables.push(appCache);
  return appCache;
}
afterAll(async () => {
  for (const TableName of extraTables) await stack.admin.send(new DeleteTableCommand({ TableName }));
});

const store = (table = stack.tables.appCache) => createAccessTokenStore(DynamoDBDocumentClient.from(stack.admin), table, APP_ID);

/** What a fresh Lambda instance has: its own memory, a shared DynamoDB cache. */
function instance(options: { table?: string; cache?: AccessTokenStore; secret?: () => Promise<string> } = {}) {
  return createAccessTokens({
    apiBase: stack.config.wechatApiBase,
    timeoutMs: stack.config.wechatTimeoutMs,
    appId: APP_ID,
    secret: options.secret ?? (async () => APP_SECRET),
    cache: options.cache ?? store(options.table),
    now: stack.clock.now,
  });
}

/** One wxa/checksession call, the way /userinfo and /checklogin?verify=wechat make it. */
const checkSession = (tokens: ReturnType<typeof instance>) => {
  const { openid, sessionKey } = stack.fake.user('ann');
  return createCheckSessionKey({ apiBase: stack.config.wechatApiBase, timeoutMs: stack.config.wechatTimeoutMs }, tokens)(openid, sessionKey);
};

const stableTokenCallsSince = (before: number) => stack.fake.stableTokenCalls.slice(before);
const nowSeconds = () => Math.floor(stack.clock.now() / 1000);
/** WeChat's spacing between force_refresh calls has passed. */
const afterForceSpacing = () => stack.clock.advanceSeconds(31);

describe('after WeChat refuses the access_token (40001/42001)', () => {
  it('asks normal mode first: a token another holder force-refreshed is used, with no force of our own, while force mode is refused', async () => {
    const t = String((await client.login('ann.1')).body.token);
    const phone = (code: string) =>
      client.invoke('phonenumber', {
        method: 'POST',
        path: '/phonenumber',
        headers: { authorization: `Bearer ${t}` },
        body: { code, replace: true },
      });
    expect((await phone('phone-13800138001')).status).toBe(200);
    // Another holder of the AppSecret (a script, another backend) forces a refresh: our cached token is now refused.
    afterForceSpacing();
    const forced = await fetch(`${stack.fake.url}/cgi-bin/stable_token`, {
      method: 'POST',
      body: JSON.stringify({ grant_type: 'client_credential', appid: APP_ID, secret: APP_SECRET, force_refresh: true }),
    });
    expect(((await forced.json()) as { access_token?: string }).access_token).toEqual(expect.any(String));
    stack.fake.refuseForceRefresh(45009);
    try {
      const before = stack.fake.stableTokenCalls.length;
      expect(await phone('phone-13800138002')).toMatchObject({ status: 200 });
      // And not only once: the next refresh is not forced either.
      expect(await phone('phone-13800138003')).toMatchObject({ status: 200 });
      expect(stableTokenCallsSince(before)).toEqual([false]);
    } finally {
      stack.fake.refuseForceRefresh(undefined);
    }
  });

  it('forces only when normal mode hands back the very token that was refused, then goes back to normal mode', async () => {
    await instance().get();
    afterForceSpacing();
    stack.fake.revokeAccessToken();
    const before = stack.fake.stableTokenCalls.length;
    expect(await checkSession(instance())).toBe(true);
    expect(stableTokenCallsSince(before)).toEqual([false, true]);

    const cached = (await store().read())!;
    stack.clock.advanceSeconds(cached.refreshAt + 1 - nowSeconds()); // the forced token's routine refresh
    const routine = stack.fake.stableTokenCalls.length;
    await instance().get();
    expect(stableTokenCallsSince(routine)).toEqual([false]);
  });

  it('never forces twice within 30 s: a refusal inside that window is a 503 WECHAT_BUSY, and the force waits until 30 s have passed', async () => {
    await instance().get();
    afterForceSpacing();
    stack.fake.revokeAccessToken();
    expect(await checkSession(instance())).toBe(true);
    stack.fake.revokeAccessToken();
    const before = stack.fake.stableTokenCalls.length;
    await expect(checkSession(instance())).rejects.toMatchObject({ code: 'WECHAT_BUSY' });
    expect(stableTokenCallsSince(before)).toEqual([false]); // asked, but did not force
    stack.clock.advanceSeconds(30);
    expect(await checkSession(instance())).toBe(true);
    expect(stableTokenCallsSince(before)).toEqual([false, false, true]);
  });

  it('forces at most 20 times a WeChat day (which starts at midnight Beijing time); the 21st refusal waits for the next day', async () => {
    const nextBeijingDay = () => (Math.floor((nowSeconds() + 8 * 3600) / 86_400) + 1) * 86_400 - 8 * 3600;
    stack.clock.advanceSeconds(nextBeijingDay() - nowSeconds() + 60);
    await instance().get();
    const before = stack.fake.stableTokenCalls.length;
    for (let i = 0; i < 20; i++) {
      afterForceSpacing();
      stack.fake.revokeAccessToken();
      expect(await checkSession(instance())).toBe(true);
    }
    expect(stableTokenCallsSince(before).filter(Boolean)).toHaveLength(20);
    afterForceSpacing();
    stack.fake.revokeAccessToken();
    const over = stack.fake.stableTokenCalls.length;
    await expect(checkSession(instance())).rejects.toMatchObject({ code: 'WECHAT_BUSY' });
    expect(stableTokenCallsSince(over)).toEqual([false]);
    stack.clock.advanceSeconds(nextBeijingDay() - nowSeconds());
    expect(await checkSession(instance())).toBe(true); // by now the token has simply expired: normal mode gives a new one
    stack.fake.revokeAccessToken();
    expect(await checkSession(instance())).toBe(true);
    expect(stableTokenCallsSince(over).filter(Boolean)).toHaveLength(1);
  });

  it('two stages sharing one AppID (two caches, one WeChat) stop invalidating each other: 10 alternating calls after a refusal force once', async () => {
    const stages = [instance(), instance({ table: await appCacheTable('dev') })];
    afterForceSpacing();
    for (const stage of stages) expect(await checkSession(stage)).toBe(true);
    stack.fake.revokeAccessToken();
    const before = stack.fake.stableTokenCalls.length;
    for (let i = 0; i < 10; i++) {
      afterForceSpacing(); // so that WeChat would honour every force we asked for
      expect(await checkSession(stages[i % 2]!)).toBe(true);
    }
    expect(stableTokenCallsSince(before).filter(Boolean)).toHaveLength(1);
  });
});

describe('the refresh lease', () => {
  it('a late save does not put back a token that a newer refresh replaced: the late instance answers with the cached one', async () => {
    const table = await appCacheTable('late');
    let reached!: () => void;
    const saving = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const real = store(table);
    // DynamoDB is slow to take this instance's save: it lands after its lease has run out.
    const slow: AccessTokenStore = {
      ...real,
      save: async (...args: Parameters<AccessTokenStore['save']>) => {
        reached();
        await released;
        return real.save(...args);
      },
    };
    const late = instance({ cache: slow }).get();
    await saving;
    stack.fake.expireAccessToken(); // the late instance's token dies meanwhile
    stack.clock.advanceSeconds(10); // past its lease
    const newer = await instance({ table }).get();
    release();
    expect(await late).toBe(newer);
    expect((await real.read())?.accessToken).toBe(newer);
  });

  it('a failed refresh gives the lease back at once: the next instance refreshes without waiting', async () => {
    const table = await appCacheTable('lease');
    const broken = instance({
      table,
      secret: async () => {
        throw new Error('SSM unreachable');
      },
    });
    await expect(broken.get()).rejects.toThrow('SSM unreachable');
    const before = stack.fake.stableTokenCalls.length;
    // With the lease still taken (the clock stands still), this instance would wait for a refresh that never comes, then fail.
    expect(await instance({ table }).get()).toEqual(expect.stringMatching(/^fake-access-token-/));
    expect(stableTokenCallsSince(before)).toEqual([false]);
  });
});

/** Another holder of the AppSecret (another stage on the AppID) forces a refresh: every earlier token stops working. */
async function forceRefreshElsewhere() {
  afterForceSpacing();
  const reply = await fetch(`${stack.fake.url}/cgi-bin/stable_token`, {
    method: 'POST',
    body: JSON.stringify({ grant_type: 'client_credential', appid: APP_ID, secret: APP_SECRET, force_refresh: true }),
  });
  expect(((await reply.json()) as { access_token?: string }).access_token).toEqual(expect.any(String));
}

describe('two stages on one AppID, the other forcing a refresh before each of its calls', () => {
  it("the first /phonenumber after /checklogin?verify=wechat refreshed the stage's token asks WeChat again: its retry never uses a cached token WeChat has replaced as well", async () => {
    // Stage A: this stack's phonenumber function, and its checklogin function (another instance: its own memory, the same table).
    const db = createDocumentClient({ region: stack.config.region, endpoint: stack.config.dynamodbEndpoint });
    try {
      const checklogin = api(allDeps(stack.config, { db, now: stack.clock.now, busyRetryDelayMs: 20 }));
      // Stage B shares the AppID and resets WeChat's token before each of its calls (force_refresh).
      const stageBResets = forceRefreshElsewhere;
      const t = String((await client.login('ann.2')).body.token);
      const phone = (code: string) => client.phonenumber(t, { code, replace: true });
      expect((await phone('phone-13800138011')).status).toBe(200); // the phonenumber instance holds the token in memory

      await stageBResets();
      const verified = await checklogin.invoke('checklogin', {
        method: 'GET',
        path: '/checklogin',
        query: { verify: 'wechat' },
        headers: { authorization: `Bearer ${t}` },
      });
      expect(verified).toMatchObject({ status: 200, body: { is_login: true, session_key_valid: true } });

      await stageBResets();
      const before = stack.fake.stableTokenCalls.length;
      const reply = await phone('phone-13800138012');
      expect(reply.status, reply.raw).toBe(200);
      // Its copy (two generations old) was refused; the table's (one generation old) is not tried: normal mode is asked.
      expect(stableTokenCallsSince(before)).toEqual([false]);
    } finally {
      db.destroy();
    }
  });

  it('while another instance of the stage holds the refresh lease, the retry asks normal mode itself instead of waiting on the cache', async () => {
    const table = await appCacheTable('busy-lease');
    const tokens = instance({ table });
    await tokens.get();
    await forceRefreshElsewhere();
    // Another instance is in the middle of a refresh (its lease outlives this test's wait).
    expect(await store(table).takeLease(nowSeconds(), nowSeconds() + 60)).toEqual(expect.any(String));
    const before = stack.fake.stableTokenCalls.length;
    expect(await checkSession(tokens)).toBe(true);
    expect(stableTokenCallsSince(before)).toEqual([false]);
  });
});
