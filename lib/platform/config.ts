/**
 * Configuration, read and validated once per cold start. A missing or bad
 * setting throws at module load with a message naming the variable, so a
 * misconfigured function fails on its first cold start, not mid-request.
 */
import { type AppSecretSource, appSecretSource } from '#lib/platform/app-secret';
import { type AppSources, appSources } from '#lib/platform/apps';
import { ConfigError } from '#lib/platform/errors';

/** The four tables, by role; serverless.yml names them per stage. One shape everywhere (config, local tables, stores). */
export interface TableNames {
  sessions: string;
  users: string;
  /** Recently exchanged wx.login() codes (hashes), for idempotent retries. */
  logins: string;
  /** WeChat's access_token, shared by every instance. */
  appCache: string;
  /** Every move of a user's credit, append-only, keyed by its idempotency key (lib/store/ledger.ts). */
  ledger: string;
}

/** The daily check-in (POST /credit/checkin). */
export interface CheckinConfig {
  /** Credit for a check-in. */
  credit: number;
  /** An IANA time zone: its calendar day is the check-in day. */
  timeZone: string;
  /** Every this-many consecutive days (0: never) a check-in earns `bonusCredit` more. */
  bonusEvery: number;
  bonusCredit: number;
}

/** The sign-up grant's fake-account check (WeChat's wxa/getuserriskrank, scene 0, on a user's first login). */
export interface SignupRiskConfig {
  /** Above this risk rank (0-4) the grant is held back; 4 never holds it back, and then WeChat is not asked. */
  maxRank: number;
  /** Bound on the risk call: a login waits no longer for it. */
  timeoutMs: number;
  /** When WeChat cannot say (slow, failing): give the grant or hold it back. */
  whenUnknown: 'grant' | 'hold';
}

export interface Config {
  appId: string;
  /** Where the AppSecret comes from (checked here, read on first use: lib/platform/app-secret.ts). */
  appSecret: AppSecretSource;
  /** The default app (appId, appSecret) and the others: WECHAT_APPS, WECHAT_APPS_PARAM_PATH (lib/platform/apps.ts). */
  apps: AppSources;
  wechatApiBase: string;
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
}

export interface UserLimitsConfig {
  /** msg_sec_check calls (PUT /profile) per user per hour. */
  nicknameChecksPerHour: number;
  /** getuserphonenumber exchanges (POST /phonenumber, billed by WeChat) per user per day. */
  phoneNumbersPerDay: number;
}

/** The avatar bucket and its bounds (POST /profile/avatar, and the avatarUrl of every profile reply). */
export interface AvatarConfig {
  bucket: string;
  /** Set only for a local S3 (s3rver): path-style URLs on it. Unset in AWS (virtual-hosted URLs of the region). */
  s3Endpoint: string | undefined;
  /** Largest image accepted, in bytes. */
  maxBytes: number;
  /** Lifetime of a presigned avatarUrl. */
  urlTtlSeconds: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

const APPID = /^wx[0-9a-f]{16}$/i;
export const MAX_WECHAT_TIMEOUT_MS = 4000;

export function readConfig(env: Env): Config {
  const appId = matching(env, 'WECHAT_APPID', APPID, 'an AppID such as wx4f4bc4dec97d474b');
  const appSecret = appSecretSource(env);
  return {
    appId,
    appSecret,
    // serverless-offline (npm start) sets IS_OFFLINE and the stage's SSM path with it: locally there is no SSM to ask.
    apps: appSources(env.IS_OFFLINE === 'true' ? { ...env, WECHAT_APPS_PARAM_PATH: undefined } : env, { appId, secret: appSecret }),
    wechatApiBase: weChatApiBase(env),
    // At most 4 s: with the other bounds of a login, two attempts must stay under Lambda's timeout (serverless.yml, test/deploy).
    wechatTimeoutMs: integer(env, 'WECHAT_TIMEOUT_MS', 3000, 100, MAX_WECHAT_TIMEOUT_MS),
    sessionTtlSeconds: integer(env, 'SESSION_TTL_SECONDS', 604_800, 1, 31_536_000),
    initialCredit: integer(env, 'INITIAL_CREDIT', 100, 0, 1_000_000_000),
    signupRisk: {
      maxRank: integer(env, 'SIGNUP_MAX_RISK_RANK', 2, 0, 4),
      timeoutMs: integer(env, 'SIGNUP_RISK_TIMEOUT_MS', 1000, 100, MAX_WECHAT_TIMEOUT_MS),
      whenUnknown: oneOf(env, 'SIGNUP_RISK_UNKNOWN', ['grant', 'hold'] as const),
    },
    checkin: {
      credit: integer(env, 'CHECKIN_CREDIT', 10, 1, 1_000_000),
      timeZone: timeZone(env, 'CHECKIN_TIME_ZONE', 'Asia/Shanghai'),
      bonusEvery: integer(env, 'CHECKIN_BONUS_EVERY', 7, 0, 366),
      bonusCredit: integer(env, 'CHECKIN_BONUS_CREDIT', 20, 0, 1_000_000),
    },
    tables: {
      sessions: required(env, 'SESSIONS_TABLE'),
      users: required(env, 'USERS_TABLE'),
      logins: required(env, 'LOGINS_TABLE'),
      appCache: required(env, 'APP_CACHE_TABLE'),
      ledger: required(env, 'LEDGER_TABLE'),
    },
    dynamodbEndpoint: env.DYNAMODB_ENDPOINT?.trim() ? httpUrl(env, 'DYNAMODB_ENDPOINT', '') : undefined,
    region: env.AWS_REGION || 'us-east-1',
    avatars: {
      bucket: matching(env, 'AVATARS_BUCKET', BUCKET, 'an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)'),
      s3Endpoint: env.S3_ENDPOINT?.trim() ? httpUrl(env, 'S3_ENDPOINT', '') : undefined,
      // At most 4 MiB: API Gateway hands Lambda at most 6 MB, and the body arrives base64-encoded (4/3 the size).
      maxBytes: integer(env, 'AVATAR_MAX_BYTES', 1_048_576, 1024, MAX_AVATAR_BYTES),
      // At most 12 h: a presigned URL also ends with the credentials that signed it (the function's role session).
      urlTtlSeconds: integer(env, 'AVATAR_URL_TTL_SECONDS', 3600, 60, 43_200),
    },
    nicknameReview: oneOf(env, 'NICKNAME_REVIEW', ['reject', 'accept'] as const),
    userLimits: {
      nicknameChecksPerHour: integer(env, 'NICKNAME_CHECKS_PER_HOUR', 10, 1, 10_000),
      phoneNumbersPerDay: integer(env, 'PHONE_NUMBERS_PER_DAY', 3, 1, 1000),
    },
  };
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
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
  const base = httpUrl(env, 'WECHAT_API_BASE', 'https://api.weixin.qq.com');
  const { protocol, hostname } = new URL(base);
  if (protocol === 'http:' && !isLoopback(hostname)) {
    throw new ConfigError(
      `WECHAT_API_BASE must be an https:// URL, since the AppSecret is sent to it; plain http:// only to a loopback host (127.0.0.0/8, localhost, [::1]), got "${base}"`,
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

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/**
 * An IANA zone name (Area/Location, or UTC), by its shape. Whether the runtime knows it is checked by the first
 * check-in (lib/endpoints/checkin.ts): building a formatter initialises ICU, ~15 ms, which no function's cold
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
