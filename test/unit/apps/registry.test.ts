import { describe, expect, it, vi } from 'vitest';
import { appSources, createAppRegistry, type DefaultApp } from '#lib/apps/registry';
import { ConfigError } from '#lib/kernel/errors';

const DEFAULT = 'wx1111111111111111';
const SHOP = 'wx2222222222222222';
const GAME = 'wx3333333333333333';
const defaultApp: DefaultApp = { appId: DEFAULT, secret: { value: 'default-app-secret' } };
const PATH = '/wechat-login/prod/apps/';

function clock(start = 1_800_000_000_000) {
  let now = start;
  return { now: () => now, advance: (seconds: number) => (now += seconds * 1000) };
}

describe('appSources: registering apps', () => {
  it('a single-app deployment needs nothing new: only the default app', () => {
    expect(appSources({})).toEqual({ listed: new Map(), parameterPath: undefined, cacheSeconds: 60 });
  });

  it('WECHAT_APPS lists more apps with their AppSecrets (local runs and tests)', () => {
    const sources = appSources({ WECHAT_APPS: `${SHOP}=shop-secret-1, ${GAME}=game-secret-2` });
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
      appSources(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(name);
    expect((error as Error).message).not.toContain('secret-long');
  });
});

/** SSM as the registry sees it: `registered` is what GetParametersByPath lists under PATH. */
function fakeSsm(registered: Record<string, string> = {}) {
  const readParameter = vi.fn(async (_name: string): Promise<string | undefined> => undefined);
  const listParameters = vi.fn(async (path: string): Promise<ReadonlyMap<string, string>> => {
    expect(path, 'listed without the trailing "/", which IAM authorizes').toBe(PATH.slice(0, -1));
    return new Map(Object.entries(registered));
  });
  return { readParameter, listParameters, registered };
}
const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });

describe('createAppRegistry: finding an app', () => {
  it('knows the default and the listed apps without any I/O', async () => {
    const ssm = fakeSsm();
    const apps = createAppRegistry(defaultApp, appSources({ WECHAT_APPS: `${SHOP}=shop-secret-1` }), ssm, Date.now);
    expect(await (await apps.find(DEFAULT))?.secret()).toBe('default-app-secret');
    expect(await (await apps.find(SHOP))?.secret()).toBe('shop-secret-1');
    expect(await apps.find(GAME)).toBeUndefined();
    expect(ssm.readParameter).not.toHaveBeenCalled();
    expect(ssm.listParameters).not.toHaveBeenCalled();
  });

  it('an app added as an SSM parameter under the path is found without a redeploy; the path is listed once per cache time, never asked about by name', async () => {
    const time = clock();
    const ssm = fakeSsm({ [`${PATH}${SHOP}`]: 'shop-secret-1' });
    const apps = createAppRegistry(defaultApp, appSources({ WECHAT_APPS_PARAM_PATH: PATH }), ssm, time.now);
    expect(await (await apps.find(SHOP))?.secret()).toBe('shop-secret-1');
    expect(await apps.find(GAME)).toBeUndefined();
    await apps.find(SHOP);
    expect(ssm.listParameters).toHaveBeenCalledTimes(1);
    expect(ssm.readParameter).not.toHaveBeenCalled();
    time.advance(60);
    ssm.registered[`${PATH}${GAME}`] = 'game-secret-2';
    expect(await (await apps.find(GAME))?.secret(), 'added: found at the next listing').toBe('game-secret-2');
    expect(ssm.listParameters).toHaveBeenCalledTimes(2);
  });

  it('simultaneous finds share one listing', async () => {
    const ssm = fakeSsm({ [`${PATH}${SHOP}`]: 'shop-secret-1' });
    const apps = createAppRegistry(defaultApp, appSources({ WECHAT_APPS_PARAM_PATH: PATH }), ssm, Date.now);
    await Promise.all([apps.find(SHOP), apps.find(GAME), apps.find(SHOP)]);
    expect(ssm.listParameters).toHaveBeenCalledTimes(1);
  });

  it('a deleted parameter disables its app within APPS_CACHE_SECONDS', async () => {
    const time = clock();
    const ssm = fakeSsm({ [`${PATH}${SHOP}`]: 'shop-secret-1' });
    const apps = createAppRegistry(defaultApp, appSources({ WECHAT_APPS_PARAM_PATH: PATH, APPS_CACHE_SECONDS: '30' }), ssm, time.now);
    expect(await apps.find(SHOP)).toBeDefined();
    delete ssm.registered[`${PATH}${SHOP}`];
    time.advance(29);
    expect(await apps.find(SHOP), 'still trusted inside the cache time').toBeDefined();
    time.advance(1);
    expect(await apps.find(SHOP), 'disabled once the cache time has passed').toBeUndefined();
  });

  it('ignores what the listing holds that is not <path><AppID> (a deeper name, another shape)', async () => {
    const ssm = fakeSsm({ [`${PATH}${SHOP}`]: 'shop-secret-1', [`${PATH}notes`]: 'x', [`/elsewhere/${GAME}`]: 'game-secret-2' });
    const apps = createAppRegistry(defaultApp, appSources({ WECHAT_APPS_PARAM_PATH: PATH }), ssm, Date.now);
    expect(await apps.find(SHOP)).toBeDefined();
    expect(await apps.find(GAME)).toBeUndefined();
  });

  it('SSM failing with no listing yet: a 503 STORAGE_UNAVAILABLE (not a 400: we cannot know), remembered for the cache time, then asked again', async () => {
    const time = clock();
    const ssm = fakeSsm({ [`${PATH}${SHOP}`]: 'shop-secret-1' });
    ssm.listParameters.mockRejectedValueOnce(throttled);
    const apps = createAppRegistry(defaultApp, appSources({ WECHAT_APPS_PARAM_PATH: PATH }), ssm, time.now);
    await expect(apps.find(SHOP)).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      detail: { appsListing: 'ThrottlingException: Rate exceeded' },
    });
    time.advance(59);
    await expect(apps.find(GAME)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(ssm.listParameters).toHaveBeenCalledTimes(1);
    expect(await apps.find(DEFAULT), 'the default app needs no listing').toBeDefined();
    time.advance(1);
    expect(await apps.find(SHOP)).toBeDefined();
    expect(ssm.listParameters).toHaveBeenCalledTimes(2);
  });

  it('SSM failing after a good listing: its apps keep working for another cache time, unknown ones stay a 400', async () => {
    const time = clock();
    const ssm = fakeSsm({ [`${PATH}${SHOP}`]: 'shop-secret-1' });
    const apps = createAppRegistry(defaultApp, appSources({ WECHAT_APPS_PARAM_PATH: PATH }), ssm, time.now);
    expect(await apps.find(SHOP)).toBeDefined();
    ssm.listParameters.mockRejectedValue(throttled);
    time.advance(60);
    expect(await apps.find(SHOP)).toBeDefined();
    expect(await apps.find(GAME)).toBeUndefined();
    expect(ssm.listParameters).toHaveBeenCalledTimes(2);
  });

  it('never asks SSM about something that is not an AppID', async () => {
    const ssm = fakeSsm();
    const apps = createAppRegistry(defaultApp, appSources({ WECHAT_APPS_PARAM_PATH: PATH }), ssm, Date.now);
    expect(await apps.find('../../prod/wechat-app-secret')).toBeUndefined();
    expect(ssm.readParameter).not.toHaveBeenCalled();
    expect(ssm.listParameters).not.toHaveBeenCalled();
  });
});
