import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';

/** What serverless.yml resolves through resources/settings.cjs (osls calls these while it reads the file). */
const settings = createRequire(import.meta.url)('../../resources/settings.cjs') as {
  appSecretParameter(context: { resolveVariable(name: string): Promise<string> }): Promise<string>;
  wechatApiBase(): string;
  reservedConcurrency(): Record<string, number | null>;
  avatarsBucket(context: { resolveVariable(name: string): Promise<string> }): Promise<string>;
  environmentChecked(context: { resolveVariable(name: string): Promise<unknown> }): Promise<string>;
};
const resolveVariable = async (name: string) => ({ 'self:service': 'wechat-login', 'sls:stage': 'prod' })[name] ?? '';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('deploy settings checked at package time (resources/settings.cjs)', () => {
  it('defaults the AppSecret parameter to /<service>/<stage>/wechat-app-secret and refuses one without its leading "/"', async () => {
    vi.stubEnv('WECHAT_SECRET_PARAM', '');
    expect(await settings.appSecretParameter({ resolveVariable })).toBe('/wechat-login/prod/wechat-app-secret');
    vi.stubEnv('WECHAT_SECRET_PARAM', 'wechat-app-secret');
    await expect(settings.appSecretParameter({ resolveVariable })).rejects.toThrow(/^WECHAT_SECRET_PARAM/);
  });

  it('refuses WECHAT_API_BASE over plain http to a remote host, and allows loopback', () => {
    vi.stubEnv('WECHAT_API_BASE', 'http://api.weixin.qq.com');
    expect(() => settings.wechatApiBase()).toThrow(/^WECHAT_API_BASE/);
    vi.stubEnv('WECHAT_API_BASE', 'http://127.0.0.1:9000/');
    expect(settings.wechatApiBase()).toBe('http://127.0.0.1:9000');
  });

  it('reserves no concurrency by default: a deploy fits any account quota and sits beside other stages', () => {
    expect(Object.values(settings.reservedConcurrency())).toEqual(Array(13).fill(null));
  });

  it('RESERVED_CONCURRENCY=on reserves 820 of the default 1,000, leaving at least 100 unreserved', () => {
    vi.stubEnv('RESERVED_CONCURRENCY', 'on');
    const reserved = settings.reservedConcurrency();
    expect(Object.values(reserved).reduce((sum: number, n) => sum + (n ?? 0), 0)).toBe(820);
    vi.stubEnv('RESERVED_CONCURRENCY_LOGIN', '300');
    expect(settings.reservedConcurrency().login).toBe(300);
  });

  it.each([
    ['a per-function share without the opt-in', { RESERVED_CONCURRENCY_LOGIN: '250' }, /^RESERVED_CONCURRENCY_LOGIN.*RESERVED_CONCURRENCY=on/],
    ['a quota without the opt-in', { LAMBDA_CONCURRENCY_LIMIT: '1000' }, /^LAMBDA_CONCURRENCY_LIMIT.*RESERVED_CONCURRENCY=on/],
    ['an unknown switch', { RESERVED_CONCURRENCY: 'yes' }, /^RESERVED_CONCURRENCY must be/],
  ])('refuses %s, naming the setting', (_name, env, message) => {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    expect(() => settings.reservedConcurrency()).toThrow(message);
  });

  it('names the avatars bucket <service>-<stage>-avatars-<account>-<region> unless AVATARS_BUCKET says otherwise, and refuses a name S3 would refuse', async () => {
    vi.stubEnv('AVATARS_BUCKET', '');
    // S3 names are global: the account and the region make the default unique, so a second team's deploy cannot collide.
    expect(await settings.avatarsBucket({ resolveVariable })).toEqual({ 'Fn::Sub': 'wechat-login-prod-avatars-${AWS::AccountId}-${AWS::Region}' });
    // A stage so long that the default could pass S3's 63 characters is refused at package time, not by CloudFormation.
    const longStage = async (name: string) => (name === 'sls:stage' ? 'x'.repeat(30) : resolveVariable(name));
    await expect(settings.avatarsBucket({ resolveVariable: longStage })).rejects.toThrow(/^AVATARS_BUCKET/);
    vi.stubEnv('AVATARS_BUCKET', 'team-avatars-123456789012');
    expect(await settings.avatarsBucket({ resolveVariable })).toBe('team-avatars-123456789012');
    vi.stubEnv('AVATARS_BUCKET', 'Team_Avatars');
    await expect(settings.avatarsBucket({ resolveVariable })).rejects.toThrow(/^AVATARS_BUCKET/);
    // S3 takes dots, but then <bucket>.s3.<region>.amazonaws.com is outside its certificate's *.s3… name: every upload and URL fails.
    vi.stubEnv('AVATARS_BUCKET', 'avatars.example.com');
    await expect(settings.avatarsBucket({ resolveVariable })).rejects.toThrow(/^AVATARS_BUCKET.*dot/);
  });

  it.each([
    ['a sum above the quota less 100', { RESERVED_CONCURRENCY_LOGIN: '850' }, /^RESERVED_CONCURRENCY_\*/],
    ['0, which would stop the function', { RESERVED_CONCURRENCY_LOGOUT: '0' }, /^RESERVED_CONCURRENCY_LOGOUT/],
    ['a quota too small for the defaults', { LAMBDA_CONCURRENCY_LIMIT: '500' }, /^RESERVED_CONCURRENCY_\*/],
    ['a malformed quota', { LAMBDA_CONCURRENCY_LIMIT: '1k' }, /^LAMBDA_CONCURRENCY_LIMIT/],
  ])('with RESERVED_CONCURRENCY=on, refuses %s, naming the setting', (_name, env, message) => {
    vi.stubEnv('RESERVED_CONCURRENCY', 'on');
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    expect(() => settings.reservedConcurrency()).toThrow(message);
  });

  it("checks serverless.yml's whole provider.environment as the functions read it, and the check-in's time zone by Intl", async () => {
    const environment = {
      WECHAT_APPID: 'wx1234567890abcdef',
      WECHAT_SECRET_PARAM: '/wechat-login/prod/wechat-app-secret',
      SESSIONS_TABLE: 's',
      USERS_TABLE: 'u',
      LOGINS_TABLE: 'l',
      APP_CACHE_TABLE: 'a',
      LEDGER_TABLE: 'g',
      AVATARS_BUCKET: 'wechat-login-prod-avatars',
      AVATAR_MAX_BYTES: '1048576',
      CHECKIN_TIME_ZONE: 'Asia/Shanghai',
    };
    const resolving = (env: Record<string, string>) => ({
      resolveVariable: async (name: string) => (name === 'self:provider.environment' ? env : resolveVariable(name)),
    });
    expect(await settings.environmentChecked(resolving(environment))).toBe('checked');
    // Both once deployed fine and then failed: every function's init, and every check-in.
    await expect(settings.environmentChecked(resolving({ ...environment, AVATAR_MAX_BYTES: '5000000' }))).rejects.toThrow(/^AVATAR_MAX_BYTES/);
    await expect(settings.environmentChecked(resolving({ ...environment, CHECKIN_TIME_ZONE: 'Asia/Shanghia' }))).rejects.toThrow(
      /^CHECKIN_TIME_ZONE is not a time zone this runtime knows/,
    );
  });

  it('RESERVED_CONCURRENCY=off reserves nothing (an account whose quota is still low)', () => {
    vi.stubEnv('RESERVED_CONCURRENCY', 'off');
    expect(Object.values(settings.reservedConcurrency())).toEqual(Array(13).fill(null));
  });
});
