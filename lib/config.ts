/**
 * Configuration, read and validated once per cold start. A missing or bad
 * setting throws at module load with a message naming the variable, so a
 * misconfigured function fails on its first cold start, not mid-request.
 */
import { type AppSecretSource, appSecretSource } from '#lib/apps/app-secret';
import { APPID, type AppSources, appSources } from '#lib/apps/registry';
import type { TableNames } from '#lib/aws/tables';
import { type CheckinConfig, unknownTimeZone } from '#lib/credit/checkin';
import type { SignupRiskConfig } from '#lib/credit/signup';
import { type Env, wholeNumber } from '#lib/kernel/env';
import { ConfigError } from '#lib/kernel/errors';
import type { AvatarConfig, UserLimitsConfig } from '#lib/profile/deps';

// Each feature declares its own settings' shape next to itself; Config is all of them, read here once.
export type { AvatarConfig, CheckinConfig, Env, SignupRiskConfig, TableNames, UserLimitsConfig };

export interface Config {
  appId: string;
  /** Where the AppSecret comes from (checked here, read on first use: lib/apps/app-secret.ts). */
  appSecret: AppSecretSource;
  /** The default app (appId, appSecret) and the others: WECHAT_APPS, WECHAT_APPS_PARAM_PATH (lib/apps/registry.ts). */
  apps: AppSources;
  wechatApiBase: string;
  /** WeChat's disaster-recovery domain: an attempt that could not connect to wechatApiBase goes here once (undefined: none). */
  wechatApiBackupBase: string | undefined;
  /** Bound on each call to WeChat (one attempt). */
  wechatTimeoutMs: number;
  sessionTtlSeconds: number;
  /** The sign-up grant: the first entry of every new user's ledger. */
  initialCredit: number;
  signupRisk: SignupRiskConfig;
  checkin: CheckinConfig;
  tables: TableNames;
  /** Set only for DynamoDB Local; unset in AWS. */
  dynamodbEndpoint: string | undefined;
  region: string;
  avatars: AvatarConfig;
  /** What a nickname that msg_sec_check answers "review" for gets: saved (accept) or refused like "risky" (reject). */
  nicknameReview: 'accept' | 'reject';
  /** Per-user bounds on WeChat's paid or quota-bound calls. */
  userLimits: UserLimitsConfig;
  /** POWERTOOLS_LOG_LEVEL, checked here (Powertools itself reads it). */
  logLevel: string;
}

export const MAX_WECHAT_TIMEOUT_MS = 4000;

/**
 * The settings, by the part of the code that uses them. Every function reads the core (the default AppID, the
 * tables, DynamoDB, the region); each section is read by the functions that use it (lib/wiring.ts).
 */
export const CONFIG_SECTIONS = ['apps', 'wechat', 'login', 'checkin', 'avatars', 'nickname', 'limits'] as const;
export type ConfigSection = (typeof CONFIG_SECTIONS)[number];

/** Which Config fields each section holds. */
type SectionFields = {
  apps: Pick<Config, 'appSecret' | 'apps'>;
  wechat: Pick<Config, 'wechatApiBase' | 'wechatApiBackupBase' | 'wechatTimeoutMs'>;
  login: Pick<Config, 'sessionTtlSeconds' | 'initialCredit' | 'signupRisk'>;
  checkin: Pick<Config, 'checkin'>;
  avatars: Pick<Config, 'avatars'>;
  nickname: Pick<Config, 'nicknameReview'>;
  limits: Pick<Config, 'userLimits'>;
};

const SECTION_READERS: { [S in ConfigSection]: (env: Env, appId: string) => SectionFields[S] } = {
  // serverless-offline (npm start) sets IS_OFFLINE and the stage's SSM path with it: locally there is no SSM to ask.
  apps: (env) => ({
    appSecret: appSecretSource(env),
    apps: appSources(env.IS_OFFLINE === 'true' ? { ...env, WECHAT_APPS_PARAM_PATH: undefined } : env),
  }),
  wechat: (env) => ({
    wechatApiBase: weChatApiBase(env),
    wechatApiBackupBase: weChatApiBackupBase(env),
    // At most 4 s: with the other bounds of a login, two attempts must stay under Lambda's timeout (serverless.yml, test/deploy).
    wechatTimeoutMs: wholeNumber(env, 'WECHAT_TIMEOUT_MS', 3000, 100, MAX_WECHAT_TIMEOUT_MS),
  }),
  login: (env) => ({
    sessionTtlSeconds: wholeNumber(env, 'SESSION_TTL_SECONDS', 604_800, 1, 31_536_000),
    initialCredit: wholeNumber(env, 'INITIAL_CREDIT', 100, 0, 1_000_000_000),
    signupRisk: {
      maxRank: wholeNumber(env, 'SIGNUP_MAX_RISK_RANK', 2, 0, 4),
      timeoutMs: wholeNumber(env, 'SIGNUP_RISK_TIMEOUT_MS', 1000, 100, MAX_WECHAT_TIMEOUT_MS),
      whenUnknown: oneOf(env, 'SIGNUP_RISK_UNKNOWN', ['grant', 'hold'] as const),
    },
  }),
  checkin: (env) => ({
    checkin: {
      credit: wholeNumber(env, 'CHECKIN_CREDIT', 10, 1, 1_000_000),
      timeZone: timeZone(env, 'CHECKIN_TIME_ZONE', 'Asia/Shanghai'),
      bonusEvery: wholeNumber(env, 'CHECKIN_BONUS_EVERY', 7, 0, 366),
      bonusCredit: wholeNumber(env, 'CHECKIN_BONUS_CREDIT', 20, 0, 1_000_000),
    },
  }),
  avatars: (env) => ({
    avatars: {
      bucket: avatarsBucket(env),
      s3Endpoint: env.S3_ENDPOINT?.trim() ? httpUrl(env, 'S3_ENDPOINT', '') : undefined,
      // At most 4 MiB: API Gateway hands Lambda at most 6 MB, and the body arrives base64-encoded (4/3 the size).
      maxBytes: wholeNumber(env, 'AVATAR_MAX_BYTES', 1_048_576, 1024, MAX_AVATAR_BYTES),
      // At most 12 h: a presigned URL also ends with the credentials that signed it (the function's role session).
      urlTtlSeconds: wholeNumber(env, 'AVATAR_URL_TTL_SECONDS', 3600, 60, 43_200),
    },
  }),
  nickname: (env) => ({ nicknameReview: oneOf(env, 'NICKNAME_REVIEW', ['reject', 'accept'] as const) }),
  limits: (env) => ({
    userLimits: {
      nicknameChecksPerHour: wholeNumber(env, 'NICKNAME_CHECKS_PER_HOUR', 10, 1, 10_000),
      phoneNumbersPerDay: wholeNumber(env, 'PHONE_NUMBERS_PER_DAY', 3, 1, 1000),
    },
  }),
};

/**
 * The configuration. The core and the `validate` sections (all of them by default: tests, the bench, the admin CLI,
 * the package-time check) are read and checked now, so a bad one fails this call, naming the variable. A function's
 * wiring names only the sections it uses; any other section is read on first use (and would fail there, naming it),
 * so a malformed avatar setting cannot stop /login's cold start. Every section is checked at package time anyway
 * (checkDeployEnvironment, resources/settings.cjs).
 */
export function readConfig(env: Env, validate: readonly ConfigSection[] = CONFIG_SECTIONS): Config {
  const appId = matching(env, 'WECHAT_APPID', APPID, 'an AppID such as wx4f4bc4dec97d474b');
  const config = {
    appId,
    tables: {
      sessions: required(env, 'SESSIONS_TABLE'),
      users: required(env, 'USERS_TABLE'),
      logins: required(env, 'LOGINS_TABLE'),
      appCache: required(env, 'APP_CACHE_TABLE'),
      ledger: required(env, 'LEDGER_TABLE'),
    },
    dynamodbEndpoint: env.DYNAMODB_ENDPOINT?.trim() ? httpUrl(env, 'DYNAMODB_ENDPOINT', '') : undefined,
    region: env.AWS_REGION || 'us-east-1',
    logLevel: logLevel(env),
  } as Config;
  for (const section of CONFIG_SECTIONS) {
    const read = () => SECTION_READERS[section](env, appId) as Partial<Config>;
    if (validate.includes(section)) {
      Object.assign(config, read());
      continue;
    }
    let fields: Partial<Config> | undefined;
    for (const key of Object.keys(SECTION_KEYS[section]) as Array<keyof Config>) {
      Object.defineProperty(config, key, {
        enumerable: true,
        configurable: true,
        get: () => {
          fields ??= read();
          return fields[key];
        },
      });
    }
  }
  return config;
}

/** The fields of each section, to define its lazy getters (the readers' return shapes, named once more for the runtime). */
const SECTION_KEYS: { [S in ConfigSection]: Record<keyof SectionFields[S], true> } = {
  apps: { appSecret: true, apps: true },
  wechat: { wechatApiBase: true, wechatApiBackupBase: true, wechatTimeoutMs: true },
  login: { sessionTtlSeconds: true, initialCredit: true, signupRisk: true },
  checkin: { checkin: true },
  avatars: { avatars: true },
  nickname: { nicknameReview: true },
  limits: { userLimits: true },
};

/**
 * The deployed environment, checked whole at package time (resources/settings.cjs): every section, as the functions
 * will read it, and the check-in's time zone by the runtime's own Intl, which no cold start pays for (the shape
 * check at cold start lets an unknown zone such as Asia/Shanghia through).
 */
export function checkDeployEnvironment(env: Env): Config {
  const config = readConfig(env);
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: config.checkin.timeZone });
  } catch (err) {
    if (err instanceof RangeError) throw unknownTimeZone(config.checkin.timeZone);
    throw err;
  }
  return config;
}

/** CHECKIN_TIME_ZONE names a zone the runtime does not know (at package time, or at the first check-in). */

/** Powertools' levels (POWERTOOLS_LOG_LEVEL, any case); anything else it would silently take as INFO. */
const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'];

function logLevel(env: Env): string {
  const raw = env.POWERTOOLS_LOG_LEVEL?.trim() || 'INFO';
  if (!LOG_LEVELS.includes(raw.toUpperCase())) throw new ConfigError(`POWERTOOLS_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  return raw.toUpperCase();
}

/**
 * An S3 bucket name without dots: S3 takes dots, but then `<bucket>.s3.<region>.amazonaws.com` is outside the
 * certificate's `*.s3.<region>.amazonaws.com`, so every upload and presigned URL (virtual-hosted, HTTPS) fails TLS.
 * Also refused: the prefixes and suffixes S3 reserves (xn--, sthree-, amzn-s3-demo-, -s3alias, --ol-s3, --x-s3).
 */
const BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const RESERVED_BUCKET = /^(?:xn--|sthree-|amzn-s3-demo-)|(?:-s3alias|--ol-s3|--x-s3)$/;

function avatarsBucket(env: Env): string {
  const bucket = required(env, 'AVATARS_BUCKET');
  if (bucket.includes('.')) {
    throw new ConfigError(
      `AVATARS_BUCKET must not contain a dot: "<bucket>.s3.<region>.amazonaws.com" would not match S3's HTTPS certificate, got "${bucket}"`,
    );
  }
  if (!BUCKET.test(bucket) || RESERVED_BUCKET.test(bucket)) {
    throw new ConfigError(
      `AVATARS_BUCKET is malformed: expected an S3 bucket name (3-63 lowercase letters, digits, hyphens; not starting xn--, sthree- or amzn-s3-demo-, not ending -s3alias, --ol-s3 or --x-s3), got "${bucket}"`,
    );
  }
  return bucket;
}
export const MAX_AVATAR_BYTES = 4 * 1024 * 1024;

/** One of `allowed`; the first is the default. */
function oneOf<const T extends readonly [string, ...string[]]>(env: Env, name: string, allowed: T): T[number] {
  const raw = env[name]?.trim();
  if (!raw) return allowed[0];
  if (!allowed.includes(raw)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T[number];
}

/**
 * WECHAT_API_BASE, checked at cold start and at package time (resources/settings.cjs). The AppSecret travels
 * to it, so plain http only to this machine (the fake WeChat, a local tunnel).
 */
export function weChatApiBase(env: Env): string {
  return secretSafeBase(env, 'WECHAT_API_BASE', WECHAT_API);
}

const WECHAT_API = 'https://api.weixin.qq.com';
/** WeChat's documented disaster-recovery domain for its server APIs. */
const WECHAT_API_BACKUP = 'https://api2.weixin.qq.com';

/**
 * WECHAT_API_BACKUP_BASE, checked as WECHAT_API_BASE is (the AppSecret goes there too), at cold start and at package
 * time: WeChat's backup domain by default when the main base is WeChat's own, none by default otherwise (a fake, a
 * proxy: its backup is not ours to guess); `none` turns it off.
 */
export function weChatApiBackupBase(env: Env): string | undefined {
  const raw = env.WECHAT_API_BACKUP_BASE?.trim();
  if (raw === 'none') return undefined;
  if (!raw) return weChatApiBase(env) === WECHAT_API ? WECHAT_API_BACKUP : undefined;
  return secretSafeBase(env, 'WECHAT_API_BACKUP_BASE', '');
}

function secretSafeBase(env: Env, name: string, fallback: string): string {
  const base = httpUrl(env, name, fallback);
  const { protocol, hostname } = new URL(base);
  if (protocol === 'http:' && !isLoopback(hostname)) {
    throw new ConfigError(
      `${name} must be an https:// URL, since the AppSecret is sent to it; plain http:// only to a loopback host (127.0.0.0/8, localhost, [::1]), got "${base}"`,
    );
  }
  return base;
}

/** The URL parser has normalised the host already (lowercase, IPv4 shorthand expanded, IPv6 in brackets). */
const isLoopback = (hostname: string) => hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(hostname);

function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`${name} is not set`);
  return value;
}

function matching(env: Env, name: string, pattern: RegExp, expected: string): string {
  const value = required(env, name);
  if (!pattern.test(value)) throw new ConfigError(`${name} is malformed: expected ${expected}`);
  return value;
}

/**
 * An IANA zone name (Area/Location, or UTC), by its shape. Whether the runtime knows it is checked by the first
 * check-in (lib/credit/checkin.ts): building a formatter initialises ICU, ~15 ms, which no function's cold
 * start should pay for a setting only the check-in uses.
 */
function timeZone(env: Env, name: string, fallback: string): string {
  const raw = env[name]?.trim() || fallback;
  if (!/^(?:UTC|GMT|[A-Z][A-Za-z]+(?:\/[A-Za-z0-9_+-]+){1,2})$/.test(raw)) {
    throw new ConfigError(`${name} must be an IANA time zone such as Asia/Shanghai, got "${raw}"`);
  }
  return raw;
}

function httpUrl(env: Env, name: string, fallback: string): string {
  const raw = env[name]?.trim() || fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}
