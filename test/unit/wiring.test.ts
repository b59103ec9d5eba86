import { afterEach, describe, expect, it, vi } from 'vitest';
import { readConfig } from '#lib/config';
import { ConfigError } from '#lib/kernel/errors';
import { loginDeps } from '#lib/wiring';

const env = {
  WECHAT_APPID: 'wx1234567890abcdef',
  WECHAT_SECRET_PARAM: '/wechat-login/test/wechat-app-secret',
  SESSIONS_TABLE: 'sessions',
  USERS_TABLE: 'users',
  LOGINS_TABLE: 'logins',
  APP_CACHE_TABLE: 'app-cache',
  LEDGER_TABLE: 'ledger',
  AVATARS_BUCKET: 'avatars',
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
