'use strict';
/**
 * Settings serverless.yml takes from the deploy environment, checked by the same code as at cold start
 * (lib/config.ts, lib/apps/app-secret.ts). osls resolves these while it reads serverless.yml,
 * which every command does (package, deploy, offline), so a bad one stops it before anything is built,
 * with a message naming the setting.
 */
const { require: tsRequire } = require('tsx/cjs/api');

const { weChatApiBase, readConfig, checkDeployEnvironment } = tsRequire('../lib/config.ts', __filename);
/** The settings readConfig requires besides the one being checked (their own checks run elsewhere). */
const REQUIRED_PLACEHOLDERS = {
  WECHAT_APPID: 'wx0000000000000000',
  WECHAT_SECRET: 'placeholder',
  SESSIONS_TABLE: 's',
  USERS_TABLE: 'u',
  LOGINS_TABLE: 'l',
  APP_CACHE_TABLE: 'a',
  LEDGER_TABLE: 'g',
};
const { secretParameterName } = tsRequire('../lib/apps/app-secret.ts', __filename);

/** The ConfigError's message alone: osls prints the stack of what a resolver throws. */
function checked(read) {
  try {
    return read();
  } catch (err) {
    const error = new Error(err instanceof Error ? err.message : String(err));
    error.stack = error.message;
    throw error;
  }
}

/**
 * Each function's reserved concurrency: its own share of the account's Lambda concurrency, which is also its cap, so a
 * flood on one route cannot take the others'. The defaults assume the default account quota of 1,000 and leave more
 * than Lambda's minimum of 100 unreserved (README, Deploy).
 */
const RESERVED_CONCURRENCY = {
  login: 250,
  checklogin: 130,
  credit: 120,
  // The legacy profile route (wx.getUserInfo's data): PUT /profile and the avatar upload replace it.
  userinfo: 60,
  phonenumber: 40,
  logout: 40,
  spend: 40,
  checkin: 30,
  history: 20,
  grant: 10,
  profile: 40,
  nickname: 20,
  avatar: 20,
};
/** Lambda keeps at least this much of the account's concurrency unreserved. */
const MIN_UNRESERVED = 100;

function reservedConcurrency(env) {
  if (env.RESERVED_CONCURRENCY === 'off') return Object.fromEntries(Object.keys(RESERVED_CONCURRENCY).map((name) => [name, null]));
  const limit = wholeNumber(env, 'LAMBDA_CONCURRENCY_LIMIT', 1000, MIN_UNRESERVED + Object.keys(RESERVED_CONCURRENCY).length);
  const reserved = {};
  for (const [name, fallback] of Object.entries(RESERVED_CONCURRENCY)) {
    reserved[name] = wholeNumber(env, `RESERVED_CONCURRENCY_${name.toUpperCase()}`, fallback, 1, limit - MIN_UNRESERVED);
  }
  const total = Object.values(reserved).reduce((sum, n) => sum + n, 0);
  if (total > limit - MIN_UNRESERVED) {
    throw new Error(
      `RESERVED_CONCURRENCY_*: the functions reserve ${total} of LAMBDA_CONCURRENCY_LIMIT ${limit}, but Lambda keeps ${MIN_UNRESERVED} unreserved: lower them, raise LAMBDA_CONCURRENCY_LIMIT to your account's quota, or set RESERVED_CONCURRENCY=off`,
    );
  }
  return reserved;
}

function wholeNumber(env, name, fallback, min, max) {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) throw new Error(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return value;
}

/**
 * The environment serverless.yml gives every function, checked whole by what the functions run (readConfig, every
 * section) and the check-in's time zone by Intl: a setting only one function uses (AVATAR_MAX_BYTES, CHECKIN_TIME_ZONE)
 * is refused here, before anything is built, instead of failing that function in production.
 */
function checkEnvironment(environment) {
  const env = {};
  for (const [name, value] of Object.entries(environment ?? {})) if (value !== null && value !== undefined) env[name] = String(value);
  checkDeployEnvironment(env);
  return 'checked';
}

module.exports = {
  checkEnvironment: (environment) => checked(() => checkEnvironment(environment)),
  /** serverless.yml's custom.environmentChecked: resolved (so run) by every osls command that reads the file. */
  async environmentChecked({ resolveVariable }) {
    const environment = await resolveVariable('self:provider.environment');
    return checked(() => checkEnvironment(environment));
  },
  reservedConcurrency: () => checked(() => reservedConcurrency(process.env)),
  async appSecretParameter({ resolveVariable }) {
    const fallback = `/${await resolveVariable('self:service')}/${await resolveVariable('sls:stage')}/wechat-app-secret`;
    return checked(() => secretParameterName(process.env.WECHAT_SECRET_PARAM?.trim() || fallback));
  },
  wechatApiBase: () => checked(() => weChatApiBase(process.env)),
  /** AVATARS_BUCKET or <service>-<stage>-avatars (S3 names are global: set AVATARS_BUCKET when that one is taken), checked as at cold start. */
  async avatarsBucket({ resolveVariable }) {
    const fallback = `${await resolveVariable('self:service')}-${await resolveVariable('sls:stage')}-avatars`;
    return checked(() => readConfig({ ...REQUIRED_PLACEHOLDERS, AVATARS_BUCKET: process.env.AVATARS_BUCKET?.trim() || fallback }).avatars.bucket);
  },
};
