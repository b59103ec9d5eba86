import { describe, expect, it, vi } from 'vitest';
import { appSecretProvider, appSecretSource, loadAppSecret, type ReadParameter } from '#lib/apps/app-secret';
import type { Env } from '#lib/config';
import { ConfigError } from '#lib/kernel/errors';

/** The source as readConfig checks it at cold start (a bad one throws there), then loaded. */
const load = (env: Env, readParameter: ReadParameter) => Promise.resolve().then(() => loadAppSecret(appSecretSource(env), readParameter));
const provider = (env: Env, readParameter: ReadParameter) => appSecretProvider(appSecretSource(env), readParameter);

const SECRET = '0123456789abcdef0123456789abcdef';
const neverCalled = async (): Promise<string> => {
  throw new Error('SSM must not be asked here');
};
const PARAM = '/wechat-login/prod/wechat-app-secret';

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('loadAppSecret: local WECHAT_SECRET', () => {
  it('returns a well-formed WECHAT_SECRET without touching SSM', async () => {
    const readParameter = vi.fn();
    expect(await load({ WECHAT_SECRET: SECRET, WECHAT_SECRET_PARAM: PARAM }, readParameter)).toBe(SECRET);
    expect(readParameter).not.toHaveBeenCalled();
  });

  it.each([
    ['containing spaces', 'my secret with spaces'],
    ['too short', 'short7!'],
    ['longer than 128 characters', 'x'.repeat(129)],
    ['containing a newline', 'abcdefgh\nijkl'],
  ])('refuses a secret %s, naming WECHAT_SECRET without echoing the value', async (_label, secret) => {
    const error = await configError(load({ WECHAT_SECRET: secret }, neverCalled));
    expect(error.message).toContain('WECHAT_SECRET');
    expect(error.message).not.toContain(secret);
    expect(String(error.stack)).not.toContain(secret);
  });

  it('names both variables when neither is set', async () => {
    const error = await configError(load({}, neverCalled));
    expect(error.message).toContain('WECHAT_SECRET');
    expect(error.message).toContain('WECHAT_SECRET_PARAM');
  });
});

describe('loadAppSecret: deployed, from the SSM SecureString named by WECHAT_SECRET_PARAM', () => {
  it('reads the named parameter once and returns its value', async () => {
    const readParameter = vi.fn(async () => SECRET);
    expect(await load({ WECHAT_SECRET_PARAM: PARAM }, readParameter)).toBe(SECRET);
    expect(readParameter).toHaveBeenCalledTimes(1);
    expect(readParameter).toHaveBeenCalledWith(PARAM);
  });

  it('a missing parameter fails naming it and saying how to create it', async () => {
    const notFound = Object.assign(new Error('not found'), { name: 'ParameterNotFound' });
    const error = await configError(load({ WECHAT_SECRET_PARAM: PARAM }, async () => Promise.reject(notFound)));
    expect(error.message).toContain('WECHAT_SECRET_PARAM');
    expect(error.message).toContain(PARAM);
    expect(error.message).toContain('aws ssm put-parameter --type SecureString');
  });

  it('an SSM failure (e.g. no permission) fails naming the parameter and what SSM said', async () => {
    const denied = Object.assign(new Error(`User is not authorized to access ${PARAM}`), { name: 'AccessDeniedException' });
    const error = await configError(load({ WECHAT_SECRET_PARAM: PARAM }, async () => Promise.reject(denied)));
    expect(error.message).toContain('AccessDeniedException');
    expect(error.message).toContain('not authorized');
    expect(error.message).toContain(PARAM);
  });

  it.each([
    ['empty', ''],
    ['absent', undefined],
  ])('an %s parameter value is a ConfigError', async (_label, value) => {
    const error = await configError(load({ WECHAT_SECRET_PARAM: PARAM }, async () => value));
    expect(error.message).toContain(PARAM);
  });

  it('a malformed parameter value is refused without echoing it', async () => {
    const error = await configError(load({ WECHAT_SECRET_PARAM: PARAM }, async () => 'has spaces in it'));
    expect(error.message).not.toContain('has spaces in it');
  });
});

describe('appSecretSource + appSecretProvider: checked at cold start, read once, on first use', () => {
  it('fails at creation, without I/O, naming the variable when the source is missing or malformed', () => {
    expect(() => provider({}, neverCalled)).toThrow(/WECHAT_SECRET_PARAM/);
    expect(() => provider({ WECHAT_SECRET: 'has spaces in it' }, neverCalled)).toThrow(ConfigError);
  });

  it('does not read SSM until asked, then once for any number of callers', async () => {
    const readParameter = vi.fn(async () => SECRET);
    const secret = provider({ WECHAT_SECRET_PARAM: PARAM }, readParameter);
    expect(readParameter).not.toHaveBeenCalled();
    expect(await Promise.all([secret(), secret(), secret()])).toEqual([SECRET, SECRET, SECRET]);
    expect(await secret()).toBe(SECRET);
    expect(readParameter).toHaveBeenCalledTimes(1);
  });

  it('a failed read fails its callers and is retried by the next one', async () => {
    const readParameter = vi
      .fn<(name: string) => Promise<string | undefined>>()
      .mockRejectedValueOnce(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }))
      .mockResolvedValue(SECRET);
    const secret = provider({ WECHAT_SECRET_PARAM: PARAM }, readParameter);
    await configError(secret());
    expect(await secret()).toBe(SECRET);
    expect(readParameter).toHaveBeenCalledTimes(2);
  });
});
