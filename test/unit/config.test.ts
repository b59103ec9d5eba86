import { describe, expect, it } from 'vitest';
import { type Env, readConfig } from '#lib/config';
import { ConfigError } from '#lib/kernel/errors';
import { MINIMAL_ENV } from '../support/config-env.ts';

const minimal: Env = MINIMAL_ENV;

/** Runs fn, expects a ConfigError, returns it. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('readConfig', () => {
  it('holds the default app once: appId and appSecret, not again under apps', () => {
    expect(readConfig(minimal).apps).not.toHaveProperty('defaultApp');
  });

  it('fills every default from a minimal valid environment', () => {
    expect(readConfig(minimal)).toEqual({
      appId: 'wx4f4bc4dec97d474b',
      appSecret: { parameter: '/wechat-login/prod/wechat-app-secret' },
      // One app, as before: the default app is WECHAT_APPID, nothing else is registered.
      apps: {
        listed: new Map(),
        parameterPath: undefined,
        cacheSeconds: 60,
      },
      wechatApiBase: 'https://api.weixin.qq.com',
      wechatApiBackupBase: 'https://api2.weixin.qq.com',
      wechatTimeoutMs: 3000,
      sessionTtlSeconds: 604_800,
      initialCredit: 100,
      signupRisk: { maxRank: 2, timeoutMs: 1000, whenUnknown: 'grant' },
      checkin: { credit: 10, timeZone: 'Asia/Shanghai', bonusEvery: 7, bonusCredit: 20 },
      tables: { sessions: 'sessions', users: 'users', logins: 'logins', appCache: 'app-cache', ledger: 'ledger' },
      dynamodbEndpoint: undefined,
      region: 'us-east-1',
      avatars: { bucket: 'avatars', s3Endpoint: undefined, maxBytes: 1_048_576, urlTtlSeconds: 3600 },
      nicknameReview: 'reject',
      logLevel: 'INFO',
      userLimits: { nicknameChecksPerHour: 10, phoneNumbersPerDay: 3 },
    });
  });

  it('takes the per-user bounds on WeChat calls', () => {
    expect(readConfig({ ...minimal, NICKNAME_CHECKS_PER_HOUR: '20', PHONE_NUMBERS_PER_DAY: '1' }).userLimits).toEqual({
      nicknameChecksPerHour: 20,
      phoneNumbersPerDay: 1,
    });
  });

  it('checks the core and the named sections now, and reads any other section on first use, failing there, naming the variable', () => {
    const config = readConfig({ ...minimal, AVATAR_MAX_BYTES: '5000000', CHECKIN_TIME_ZONE: 'Beijing time' }, ['login']);
    expect(config.sessionTtlSeconds).toBe(604_800);
    expect(() => config.avatars).toThrow(/AVATAR_MAX_BYTES/);
    expect(() => config.checkin).toThrow(/CHECKIN_TIME_ZONE/);
    expect(() => readConfig({ ...minimal, AVATAR_MAX_BYTES: '5000000' }, ['avatars'])).toThrow(/AVATAR_MAX_BYTES/);
    expect(() => readConfig({ ...minimal, AVATAR_MAX_BYTES: '5000000' })).toThrow(/AVATAR_MAX_BYTES/);
    // Read once: a lazily read section is the same object every time.
    const fine = readConfig(minimal, []);
    expect(fine.avatars).toBe(fine.avatars);
    expect(fine).toEqual(readConfig(minimal));
  });

  it('takes the avatar and nickname settings', () => {
    const config = readConfig({
      ...minimal,
      S3_ENDPOINT: 'http://127.0.0.1:4568/',
      AVATAR_MAX_BYTES: '2048',
      AVATAR_URL_TTL_SECONDS: '60',
      NICKNAME_REVIEW: 'accept',
    });
    expect(config.avatars).toEqual({ bucket: 'avatars', s3Endpoint: 'http://127.0.0.1:4568', maxBytes: 2048, urlTtlSeconds: 60 });
    expect(config.nicknameReview).toBe('accept');
  });

  it('registers further apps from WECHAT_APPS and the SSM path, but not under serverless-offline (no SSM locally)', () => {
    const env = { ...minimal, WECHAT_APPS: 'wxfedcba0987654321=secret-of-b-123', WECHAT_APPS_PARAM_PATH: '/wechat-login/prod/apps/' };
    expect(readConfig(env).apps).toMatchObject({
      listed: new Map([['wxfedcba0987654321', 'secret-of-b-123']]),
      parameterPath: '/wechat-login/prod/apps/',
    });
    expect(readConfig({ ...env, IS_OFFLINE: 'true' }).apps).toMatchObject({
      listed: new Map([['wxfedcba0987654321', 'secret-of-b-123']]),
      parameterPath: undefined,
    });
  });

  it('takes explicit settings over the defaults', () => {
    const config = readConfig({
      ...minimal,
      WECHAT_API_BASE: 'http://localhost:9000',
      WECHAT_TIMEOUT_MS: '1500',
      SESSION_TTL_SECONDS: '60',
      INITIAL_CREDIT: '0',
      DYNAMODB_ENDPOINT: 'http://localhost:8000',
      AWS_REGION: 'ap-east-1',
    });
    expect(config).toMatchObject({
      wechatApiBase: 'http://localhost:9000',
      wechatTimeoutMs: 1500,
      sessionTtlSeconds: 60,
      initialCredit: 0,
      dynamodbEndpoint: 'http://localhost:8000',
      region: 'ap-east-1',
    });
  });

  it.each(['http://127.0.0.1:9000', 'http://127.5.6.7', 'http://localhost:9000', 'http://[::1]:9000', 'https://wechat-proxy.example'])(
    'accepts WECHAT_API_BASE %s (plain http only on loopback)',
    (base) => {
      expect(readConfig({ ...minimal, WECHAT_API_BASE: base }).wechatApiBase).toBe(base);
    },
  );

  it('strips trailing slashes from WECHAT_API_BASE so paths join cleanly', () => {
    expect(readConfig({ ...minimal, WECHAT_API_BASE: 'https://wechat.example/' }).wechatApiBase).toBe('https://wechat.example');
    expect(readConfig({ ...minimal, WECHAT_API_BASE: 'https://wechat.example/proxy//' }).wechatApiBase).toBe('https://wechat.example/proxy');
  });

  it.each([
    ['WECHAT_APPID missing', { WECHAT_APPID: undefined }, 'WECHAT_APPID'],
    ['WECHAT_APPID blank', { WECHAT_APPID: '   ' }, 'WECHAT_APPID'],
    ['WECHAT_APPID malformed', { WECHAT_APPID: 'wx123' }, 'WECHAT_APPID'],
    ['WECHAT_APPID with non-hex characters', { WECHAT_APPID: 'wxzzzzzzzzzzzzzzzz' }, 'WECHAT_APPID'],
    ['no AppSecret source', { WECHAT_SECRET_PARAM: undefined }, 'WECHAT_SECRET_PARAM'],
    ['SESSIONS_TABLE missing', { SESSIONS_TABLE: undefined }, 'SESSIONS_TABLE'],
    ['USERS_TABLE missing', { USERS_TABLE: '' }, 'USERS_TABLE'],
    ['LOGINS_TABLE missing', { LOGINS_TABLE: '' }, 'LOGINS_TABLE'],
    ['LEDGER_TABLE missing', { LEDGER_TABLE: '' }, 'LEDGER_TABLE'],
    ['CHECKIN_TIME_ZONE not shaped like a zone', { CHECKIN_TIME_ZONE: 'Beijing time' }, 'CHECKIN_TIME_ZONE'],
    ['CHECKIN_TIME_ZONE as an offset', { CHECKIN_TIME_ZONE: '+08:00' }, 'CHECKIN_TIME_ZONE'],
    ['CHECKIN_CREDIT "0"', { CHECKIN_CREDIT: '0' }, 'CHECKIN_CREDIT'],
    ['SIGNUP_MAX_RISK_RANK "5" (WeChat ranks 0-4)', { SIGNUP_MAX_RISK_RANK: '5' }, 'SIGNUP_MAX_RISK_RANK'],
    ['SIGNUP_RISK_UNKNOWN "maybe"', { SIGNUP_RISK_UNKNOWN: 'maybe' }, 'SIGNUP_RISK_UNKNOWN'],
    ['SIGNUP_RISK_TIMEOUT_MS above 4000', { SIGNUP_RISK_TIMEOUT_MS: '4001' }, 'SIGNUP_RISK_TIMEOUT_MS'],
    ['SESSION_TTL_SECONDS "0"', { SESSION_TTL_SECONDS: '0' }, 'SESSION_TTL_SECONDS'],
    ['SESSION_TTL_SECONDS "abc"', { SESSION_TTL_SECONDS: 'abc' }, 'SESSION_TTL_SECONDS'],
    ['SESSION_TTL_SECONDS "1.5"', { SESSION_TTL_SECONDS: '1.5' }, 'SESSION_TTL_SECONDS'],
    ['SESSION_TTL_SECONDS above one year', { SESSION_TTL_SECONDS: '31536001' }, 'SESSION_TTL_SECONDS'],
    ['INITIAL_CREDIT "-1"', { INITIAL_CREDIT: '-1' }, 'INITIAL_CREDIT'],
    ['WECHAT_TIMEOUT_MS below 100', { WECHAT_TIMEOUT_MS: '99' }, 'WECHAT_TIMEOUT_MS'],
    ['WECHAT_TIMEOUT_MS above 4000 (the Lambda timeout budget)', { WECHAT_TIMEOUT_MS: '4001' }, 'WECHAT_TIMEOUT_MS'],
    ['WECHAT_API_BASE "ftp://x"', { WECHAT_API_BASE: 'ftp://x' }, 'WECHAT_API_BASE'],
    ['WECHAT_API_BASE "not a url"', { WECHAT_API_BASE: 'not a url' }, 'WECHAT_API_BASE'],
    ['WECHAT_SECRET_PARAM without its leading "/" (an invalid IAM resource)', { WECHAT_SECRET_PARAM: 'wechat-app-secret' }, 'WECHAT_SECRET_PARAM'],
    ['WECHAT_SECRET_PARAM as an ARN', { WECHAT_SECRET_PARAM: 'arn:aws:ssm:us-east-1:123456789012:parameter/x' }, 'WECHAT_SECRET_PARAM'],
    ['WECHAT_SECRET_PARAM with a trailing "/"', { WECHAT_SECRET_PARAM: '/wechat-login/prod/' }, 'WECHAT_SECRET_PARAM'],
    [
      'WECHAT_SECRET_PARAM malformed even when WECHAT_SECRET is set',
      { WECHAT_SECRET: 'local-secret-123', WECHAT_SECRET_PARAM: 'x y' },
      'WECHAT_SECRET_PARAM',
    ],
    ['WECHAT_API_BASE over plain http to a remote host (the AppSecret in clear)', { WECHAT_API_BASE: 'http://api.weixin.qq.com' }, 'WECHAT_API_BASE'],
    ['WECHAT_API_BASE over plain http to a private address', { WECHAT_API_BASE: 'http://10.0.0.5:8080' }, 'WECHAT_API_BASE'],
    ['WECHAT_API_BASE over plain http to a host named like loopback', { WECHAT_API_BASE: 'http://127.0.0.1.example.com' }, 'WECHAT_API_BASE'],
    ['DYNAMODB_ENDPOINT "not a url"', { DYNAMODB_ENDPOINT: 'not a url' }, 'DYNAMODB_ENDPOINT'],
    ['DYNAMODB_ENDPOINT "file:///tmp/db"', { DYNAMODB_ENDPOINT: 'file:///tmp/db' }, 'DYNAMODB_ENDPOINT'],
    ['AVATARS_BUCKET missing', { AVATARS_BUCKET: undefined }, 'AVATARS_BUCKET'],
    ['AVATARS_BUCKET not a bucket name', { AVATARS_BUCKET: 'My_Bucket' }, 'AVATARS_BUCKET'],
    // A dot breaks virtual-hosted HTTPS: <bucket>.s3.<region>.amazonaws.com no longer matches the certificate's *.s3…
    ['AVATARS_BUCKET with a dot (virtual-hosted HTTPS fails)', { AVATARS_BUCKET: 'avatars.example.com' }, 'AVATARS_BUCKET'],
    ['AVATARS_BUCKET with the prefix xn-- S3 refuses', { AVATARS_BUCKET: 'xn--avatars' }, 'AVATARS_BUCKET'],
    ['AVATARS_BUCKET with the suffix -s3alias S3 refuses', { AVATARS_BUCKET: 'avatars-s3alias' }, 'AVATARS_BUCKET'],
    ['S3_ENDPOINT "not a url"', { S3_ENDPOINT: 'not a url' }, 'S3_ENDPOINT'],
    ['AVATAR_MAX_BYTES above 4 MiB (API Gateway hands Lambda 6 MB, base64)', { AVATAR_MAX_BYTES: '4194305' }, 'AVATAR_MAX_BYTES'],
    ['AVATAR_MAX_BYTES "1MB"', { AVATAR_MAX_BYTES: '1MB' }, 'AVATAR_MAX_BYTES'],
    ['AVATAR_URL_TTL_SECONDS above 12 h', { AVATAR_URL_TTL_SECONDS: '43201' }, 'AVATAR_URL_TTL_SECONDS'],
    ['NICKNAME_REVIEW "maybe"', { NICKNAME_REVIEW: 'maybe' }, 'NICKNAME_REVIEW'],
    ['POWERTOOLS_LOG_LEVEL "VERBOSE" (Powertools would silently log at INFO)', { POWERTOOLS_LOG_LEVEL: 'VERBOSE' }, 'POWERTOOLS_LOG_LEVEL'],
    ['NICKNAME_CHECKS_PER_HOUR 0 (no nickname could ever be set)', { NICKNAME_CHECKS_PER_HOUR: '0' }, 'NICKNAME_CHECKS_PER_HOUR'],
    ['PHONE_NUMBERS_PER_DAY "three"', { PHONE_NUMBERS_PER_DAY: 'three' }, 'PHONE_NUMBERS_PER_DAY'],
  ] as const)('refuses %s with a ConfigError naming the variable', (_label, patch, name) => {
    const error = configError(() => readConfig({ ...minimal, ...patch }));
    expect(error.message).toContain(name);
  });
});
