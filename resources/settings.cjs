'use strict';
/**
 * Settings serverless.yml takes from the deploy environment, checked by the same code as at cold start
 * (lib/config.ts, lib/apps/app-secret.ts). osls resolves these while it reads serverless.yml,
 * which every command does (package, deploy, offline), so a bad one stops it before anything is built,
 * with a message naming the setting.
 */
const { require: tsRequire } = require('tsx/cjs/api');

const { weChatApiBase, weChatApiBackupBase, readConfig, checkDeployEnvironment } = tsRequire('../lib/config.ts', __filename);
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

/** The longest region name AWS has (ap-southeast-5 and the like are 14; GovCloud's us-gov-west-1 is 13). */
const LONGEST_REGION = 'ap-southeast-55';

/** An Error whose stack is its message alone: osls prints the stack of what a resolver throws. */
function checkedError(message) {
  const error = new Error(message);
  error.stack = message;
  return error;
}

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
 * Each function's reserved concurrency, an opt-in (RESERVED_CONCURRENCY=on): its own share of the account's Lambda
 * concurrency, which is also its cap. Off by default, so that a deploy fits any account quota and sits beside other
 * stages; API Gateway's per-route throttling (resources/throttling.cjs) bounds a flood instead. The shares assume the
 * default account quota of 1,000 and leave more than Lambda's minimum of 100 unreserved (README, Deploy).
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
  const mode = env.RESERVED_CONCURRENCY?.trim() || 'off';
  if (mode !== 'on' && mode !== 'off') throw new Error(`RESERVED_CONCURRENCY must be "on" or "off" (the default), got "${mode}"`);
  if (mode === 'off') {
    // A share set without the opt-in would silently reserve nothing: say so instead.
    const stray = Object.keys(env).find(
      (name) => (name.startsWith('RESERVED_CONCURRENCY_') || name === 'LAMBDA_CONCURRENCY_LIMIT') && env[name]?.trim(),
    );
    if (stray) throw new Error(`${stray} is set, but reserved concurrency is off by default: set RESERVED_CONCURRENCY=on as well, or unset ${stray}`);
    return Object.fromEntries(Object.keys(RESERVED_CONCURRENCY).map((name) => [name, null]));
  }
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
 * A value as the function will see it. A CloudFormation Fn::Sub over the account and region (AVATARS_BUCKET's
 * default) becomes the longest name it can: 12 digits and the longest region. Any other intrinsic is refused, since
 * nothing here can say what it becomes.
 */
function checkable(name, value) {
  if (typeof value !== 'object') return String(value);
  const sub = value['Fn::Sub'];
  if (typeof sub === 'string' && Object.keys(value).length === 1) {
    const resolved = sub.replaceAll('${AWS::AccountId}', '1'.repeat(12)).replaceAll('${AWS::Region}', LONGEST_REGION);
    if (!resolved.includes('${')) return resolved;
  }
  throw new Error(`${name}: cannot check ${JSON.stringify(value)} at package time: only an Fn::Sub over AWS::AccountId and AWS::Region is resolved`);
}

/**
 * The environment serverless.yml gives every function, checked whole by what the functions run (readConfig, every
 * section) and the check-in's time zone by Intl: a setting only one function uses (AVATAR_MAX_BYTES, CHECKIN_TIME_ZONE)
 * is refused here, before anything is built, instead of failing that function in production.
 */
function checkEnvironment(environment) {
  const env = {};
  for (const [name, value] of Object.entries(environment ?? {})) if (value !== null && value !== undefined) env[name] = checkable(name, value);
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
  /** WECHAT_API_BACKUP_BASE as the functions will read it: WeChat's api2 by default for WeChat's own main base, else `none`. */
  wechatApiBackupBase: () => checked(() => weChatApiBackupBase(process.env) ?? 'none'),
  /**
   * AVATARS_BUCKET, checked as at cold start, or <service>-<stage>-avatars-<account>-<region>: S3 names are global, so
   * the account and the region keep a second team's deploy with the defaults from colliding with the first. The
   * account is known only to CloudFormation (packaging needs no credentials), so the default is an Fn::Sub, checked
   * here with the longest account and region it can become.
   */
  async avatarsBucket({ resolveVariable }) {
    const chosen = process.env.AVATARS_BUCKET?.trim();
    const check = (name) => checked(() => readConfig({ ...REQUIRED_PLACEHOLDERS, AVATARS_BUCKET: name }).avatars.bucket);
    if (chosen) return check(chosen);
    const prefix = `${await resolveVariable('self:service')}-${await resolveVariable('sls:stage')}-avatars`;
    const longest = `${prefix}-${'1'.repeat(12)}-${LONGEST_REGION}`;
    if (longest.length > 63) {
      throw checkedError(
        `AVATARS_BUCKET: the default name ${prefix}-<account>-<region> can be ${longest.length} characters, over S3's 63: set AVATARS_BUCKET to a shorter name`,
      );
    }
    check(longest);
    return { 'Fn::Sub': `${prefix}-\${AWS::AccountId}-\${AWS::Region}` };
  },
};
