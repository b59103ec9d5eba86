import { describe, expect, it, vi } from 'vitest';
import { type AppSources, appSources, createAppRegistry } from '#lib/apps/registry';
import { ConfigError } from '#lib/kernel/errors';

const DEFAULT = 'wx1111111111111111';
const SHOP = 'wx2222222222222222';
const GAME = 'wx3333333333333333';
const defaultApp: AppSources['defaultApp'] = { appId: DEFAULT, secret: { value: 'default-app-secret' } };
const PATH = '/wechat-login/prod/apps/';

function clock(start = 1_800_000_000_000) {
  let now = start;
  return { now: () => now, advance: (seconds: number) => (now += seconds * 1000) };
}

describe('appSources: registering apps', () => {
  it('a single-app deployment needs nothing new: only the default app', () => {
    expect(appSources({}, defaultApp)).toEqual({ defaultApp, listed: new Map(), parameterPath: undefined, cacheSeconds: 60 });
  });

  it('WECHAT_APPS lists more apps with their AppSecrets (local runs and tests)', () => {
    const sources = appSources({ WECHAT_APPS: `${SHOP}=shop-secret-1, ${GAME}=game-secret-2` }, defaultApp);
    expect([...sources.listed]).toEqual([
      [SHOP, 'shop-secret-1'],
      [GAME, 'game-secret-2'],
    ]);
  });

  it.each([
    ['WECHAT_APPS', { WECHAT_APPS: 'wx123=secret-long' }],
    ['WECHAT_APPS', { WECHAT_APPS: `${SHOP}` }],
    ['WECHAT_APPS', { WECHAT_APPS: `${SHOP}=short` }],
    ['WECHAT_APPS_PARAM_PATH', { WECHAT_APPS_PARAM_PATH: 'wechat-login/apps' }],
    ['APPS_CACHE_SECONDS', { APPS_CACHE_SECONDS: '0' }],
  ])('refuses a malformed %s, naming it, without echoing a secret', (name, env) => {
    let error: unknown;
    try {
      appSources(env, defaultApp);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(name);
    expect((error as Error).message).not.toContain('secret-long');
  });
});

describe('createAppRegistry: finding an app', () => {
  it('knows the default and the listed apps without any I/O', async () => {
    const readParameter = vi.fn();
    const apps = createAppRegistry(appSources({ WECHAT_APPS: `${SHOP}=shop-secret-1` }, defaultApp), readParameter, Date.now);
    expect(await (await apps.find(DEFAULT))?.secret()).toBe('default-app-secret');
    expect(await (await apps.find(SHOP))?.secret()).toBe('shop-secret-1');
    expect(await apps.find(GAME)).toBeUndefined();
    expect(readParameter).not.toHaveBeenCalled();
  });

  it('an app added as an SSM parameter under the path is found without a redeploy, and read once per cache time', async () => {
    const time = clock();
    const readParameter = vi.fn(async (name: string) => (name === `${PATH}${SHOP}` ? 'shop-secret-1' : undefined));
    const apps = createAppRegistry(appSources({ WECHAT_APPS_PARAM_PATH: PATH }, defaultApp), readParameter, time.now);
    expect(await (await apps.find(SHOP))?.secret()).toBe('shop-secret-1');
    await apps.find(SHOP);
    expect(readParameter).toHaveBeenCalledTimes(1);
    expect(readParameter).toHaveBeenCalledWith(`${PATH}${SHOP}`);
  });

  it('a deleted parameter disables its app within APPS_CACHE_SECONDS', async () => {
    const time = clock();
    let registered = true;
    const notFound = Object.assign(new Error('not found'), { name: 'ParameterNotFound' });
    const readParameter = vi.fn(async () => {
      if (!registered) throw notFound;
      return 'shop-secret-1';
    });
    const apps = createAppRegistry(appSources({ WECHAT_APPS_PARAM_PATH: PATH, APPS_CACHE_SECONDS: '30' }, defaultApp), readParameter, time.now);
    expect(await apps.find(SHOP)).toBeDefined();
    registered = false;
    time.advance(29);
    expect(await apps.find(SHOP), 'still trusted inside the cache time').toBeDefined();
    time.advance(1);
    expect(await apps.find(SHOP), 'disabled once the cache time has passed').toBeUndefined();
  });

  it('an SSM failure is not remembered as "no such app": the next request asks again', async () => {
    const readParameter = vi
      .fn<(name: string) => Promise<string | undefined>>()
      .mockRejectedValueOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .mockResolvedValue('shop-secret-1');
    const apps = createAppRegistry(appSources({ WECHAT_APPS_PARAM_PATH: PATH }, defaultApp), readParameter, Date.now);
    await expect(apps.find(SHOP)).rejects.toThrow('Rate exceeded');
    expect(await apps.find(SHOP)).toBeDefined();
  });

  it('never asks SSM about something that is not an AppID', async () => {
    const readParameter = vi.fn();
    const apps = createAppRegistry(appSources({ WECHAT_APPS_PARAM_PATH: PATH }, defaultApp), readParameter, Date.now);
    expect(await apps.find('../../prod/wechat-app-secret')).toBeUndefined();
    expect(readParameter).not.toHaveBeenCalled();
  });
});
