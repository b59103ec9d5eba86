import { afterEach, describe, expect, it, vi } from 'vitest';
import { readConfig } from '#lib/config';
import { ConfigError } from '#lib/kernel/errors';
import { checkinDeps, commonDeps, ledgerDeps, loginDeps, nicknameDeps, profileDeps, profileWeChatDeps, weChatApiDeps } from '#lib/wiring';
import { STACK_RESOURCES_ENV } from '../support/config-env.ts';

const env = {
  WECHAT_APPID: 'wx1234567890abcdef',
  WECHAT_SECRET_PARAM: '/wechat-login/test/wechat-app-secret',
  ...STACK_RESOURCES_ENV,
  AWS_REGION: 'us-east-1',
};

afterEach(() => {
  vi.unstubAllGlobals();
  vi.unstubAllEnvs();
});

describe('loginDeps: the AppSecret read starts at init', () => {
  it('a failing SSM read at init is no unhandled rejection; the first login fails with a ConfigError and reads again', async () => {
    // Credentials for the signer (the SDK's default chain reads the process environment).
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    const ssm = vi.fn(async (_url: unknown, _init?: unknown): Promise<Response> => {
      throw new TypeError('fetch failed');
    });
    vi.stubGlobal('fetch', ssm);
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const deps = loginDeps(readConfig(env));
      await vi.waitFor(() => expect(ssm).toHaveBeenCalledTimes(1));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).not.toHaveBeenCalled();
      expect(String(ssm.mock.calls[0]![0])).toBe('https://ssm.us-east-1.amazonaws.com/');

      const error = await deps.code2Session((await deps.apps.find(env.WECHAT_APPID!))!, 'a-code').then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(env.WECHAT_SECRET_PARAM);
      // The failed read was forgotten: the login read SSM again instead of reusing the failure (and asked WeChat nothing).
      expect(ssm).toHaveBeenCalledTimes(2);
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('fails at init, naming the variables, when no AppSecret source is set', () => {
    const { WECHAT_SECRET_PARAM: _, ...without } = env;
    expect(() => loginDeps(readConfig(without))).toThrow(/WECHAT_SECRET_PARAM/);
  });
});

describe('the injected waits (WiringOptions.sleep, .monotonic) reach every wait', () => {
  it("are the deps' waits (login's claim polling), and SSM's throttling backoff pauses on them", async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    const throttled = vi.fn(async () => new Response(JSON.stringify({ __type: 'ThrottlingException' }), { status: 400 }));
    const sleep = vi.fn(async () => undefined);
    const monotonic = () => 0;
    const deps = loginDeps(readConfig(env), { fetch: throttled as unknown as typeof fetch, sleep, monotonic });
    expect(deps.waits?.sleep).toBe(sleep);
    expect(deps.waits?.monotonic).toBe(monotonic);
    // The read started at init: three tries, two pauses, all on the injected sleep.
    await vi.waitFor(() => expect(throttled).toHaveBeenCalledTimes(3));
    expect(sleep).toHaveBeenCalledTimes(2);
  });
});

describe('each function validates the settings it uses, and only those (#19)', () => {
  // What each handler's wiring reads from the environment at cold start (handlers/*.ts).
  const wirings = {
    login: () => loginDeps(),
    'checklogin, userinfo': () => weChatApiDeps(),
    'credit, logout': () => commonDeps(),
    'spend, history, grant': () => ledgerDeps(),
    checkin: () => checkinDeps(),
    'profile, avatar': () => profileDeps(),
    phonenumber: () => profileWeChatDeps(),
    nickname: () => nicknameDeps(),
  } as const;
  type Wiring = keyof typeof wirings;
  const all = Object.keys(wirings) as Wiring[];
  const weChat: Wiring[] = ['login', 'checklogin, userinfo', 'phonenumber', 'nickname'];
  const avatars: Wiring[] = ['profile, avatar', 'phonenumber', 'nickname'];
  const cases: Array<[string, string, Wiring[]]> = [
    ['WECHAT_APPID', 'wx123', all],
    ['SESSIONS_TABLE', ' ', all],
    ['DYNAMODB_ENDPOINT', 'not a url', all],
    ['WECHAT_SECRET_PARAM', 'no-leading-slash', weChat],
    ['WECHAT_APPS_PARAM_PATH', 'no/slashes', weChat],
    ['APPS_CACHE_SECONDS', '0', weChat],
    ['WECHAT_API_BASE', 'http://api.weixin.qq.com', weChat],
    ['WECHAT_TIMEOUT_MS', '5000', weChat],
    ['SESSION_TTL_SECONDS', '0', ['login']],
    ['INITIAL_CREDIT', '-1', ['login']],
    ['SIGNUP_MAX_RISK_RANK', '5', ['login']],
    ['SIGNUP_RISK_TIMEOUT_MS', '99', ['login']],
    ['SIGNUP_RISK_UNKNOWN', 'maybe', ['login']],
    ['CHECKIN_CREDIT', '0', ['checkin']],
    ['CHECKIN_TIME_ZONE', 'Beijing time', ['checkin']],
    ['CHECKIN_BONUS_EVERY', '367', ['checkin']],
    ['CHECKIN_BONUS_CREDIT', 'x', ['checkin']],
    ['AVATARS_BUCKET', 'My_Bucket', avatars],
    ['S3_ENDPOINT', 'not a url', avatars],
    ['AVATAR_MAX_BYTES', '5000000', avatars],
    ['AVATAR_URL_TTL_SECONDS', '43201', avatars],
    ['NICKNAME_REVIEW', 'maybe', ['nickname']],
  ];

  it.each(cases)('a malformed %s (%j) stops only the functions that use it', (name, value, users) => {
    for (const [key, fine] of Object.entries(env)) vi.stubEnv(key, fine);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    vi.stubGlobal('fetch', async () => new Response('{}', { status: 400 }));
    vi.stubEnv(name, value);
    for (const wiring of all) {
      const start = () => wirings[wiring]();
      if (users.includes(wiring)) expect(start, `${wiring} uses ${name}`).toThrow(name);
      else expect(start, `${wiring} does not use ${name}`).not.toThrow();
    }
  });

  it('a bad avatar setting cannot take /login down (AVATAR_MAX_BYTES=5000000 once stopped all 13 functions)', () => {
    for (const [key, fine] of Object.entries(env)) vi.stubEnv(key, fine);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    vi.stubGlobal('fetch', async () => new Response('{}', { status: 400 }));
    vi.stubEnv('AVATAR_MAX_BYTES', '5000000');
    expect(() => loginDeps()).not.toThrow();
    expect(() => profileDeps()).toThrow(/AVATAR_MAX_BYTES/);
  });
});
