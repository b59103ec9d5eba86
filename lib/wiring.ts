import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ReadParameter } from '#lib/apps/app-secret';
import { type AppRegistry, createAppRegistry } from '#lib/apps/registry';
import { createDocumentClient } from '#lib/aws/dynamodb';
import { createS3Bucket } from '#lib/aws/s3';
import { createSsmParameterLister, createSsmParameterReader, type ListParameters } from '#lib/aws/ssm';
import { type Config, type ConfigSection, readConfig } from '#lib/config';
import { createBalanceStore, sessionWithBalance } from '#lib/credit/balance';
import type { LedgerDeps } from '#lib/credit/deps';
import { createLedgerStore } from '#lib/credit/ledger';
import { createSignupStart } from '#lib/credit/signup';
import { AppError } from '#lib/kernel/errors';
import type { Clock, Sleep, Waits } from '#lib/kernel/time';
import { createAvatarStore } from '#lib/profile/avatar-store';
import type { ProfileDeps } from '#lib/profile/deps';
import { createProfileStore } from '#lib/profile/profile-store';
import { createUserLimitStore } from '#lib/profile/user-limits';
import type { Deps, LoginDeps, WeChatApiDeps } from '#lib/session/deps';
import { createLoginCodeStore } from '#lib/session/login-codes';
import { createSessionStore } from '#lib/session/session-store';
import { createUserStore } from '#lib/session/users';
import { type AccessTokens, createAccessTokens } from '#lib/wechat/access-token';
import { createAccessTokenStore } from '#lib/wechat/access-token-store';
import type { WeChatHttpOptions } from '#lib/wechat/api';
import { createCode2Session } from '#lib/wechat/code2session';
import { createCheckText } from '#lib/wechat/msg-sec-check';
import { createGetPhoneNumber } from '#lib/wechat/phone-number';
import { createUserRiskRank } from '#lib/wechat/risk-rank';
import { createCheckSessionKey } from '#lib/wechat/session-check';

/**
 * The one composition root. Production (handlers/*.ts, at module load), the
 * tests and the bench all build an endpoint's dependencies here from a Config,
 * and pass only what differs. Nothing here does I/O: config is parsed, clients
 * are made once per Lambda instance and reused by every invocation.
 */
export interface WiringOptions {
  /** Default: Date.now. Tests move an injected clock instead of sleeping. */
  now?: Clock;
  /** Default: the global fetch, for every WeChat and SSM call. The bench meters it. */
  fetch?: typeof fetch;
  /** Default: a client made from config. Tests and the bench hand in one they own (to meter it, or destroy it). */
  db?: DynamoDBDocumentClient;
  /** Default: SSM GetParameter signed with the DynamoDB client's credentials. */
  readParameter?: ReadParameter;
  /** Default: SSM GetParametersByPath (every page), signed the same way: how the apps under WECHAT_APPS_PARAM_PATH are learnt. */
  listParameters?: ListParameters;
  /** Default: 200 ms. */
  busyRetryDelayMs?: number;
  /**
   * Every wait in lib/ pauses on this (backoffs, polling, WeChat's busy pause: lib/kernel/time.ts Waits).
   * Default: a timer. Tests pass one that moves their clock instead.
   */
  sleep?: Sleep;
  /** How long a wait has lasted (polling). Default: performance.now. Tests pass the clock their sleep moves. */
  monotonic?: () => number;
}

/** The waits handed to every part that waits: only what was injected, so that the rest default to the real ones. */
const waitsOf = ({ sleep, monotonic }: WiringOptions): Waits => ({ ...(sleep ? { sleep } : {}), ...(monotonic ? { monotonic } : {}) });

/** The environment, with only the sections this function uses checked now (the others are read if ever used). */
const fromEnvironment = (sections: readonly ConfigSection[]): Config => readConfig(process.env, sections);

/** What every endpoint has: config, clock and the session and user stores. */
export function commonDeps(config: Config = fromEnvironment([]), options: WiringOptions = {}): Deps {
  return wire(config, options).deps;
}

/**
 * Also the login code store and code2session. The AppSecret's SSM read starts
 * here, during the init phase, and the first login awaits it. No top-level
 * await, so every bundle can be CommonJS, which loads faster (BENCHMARKS.md); a
 * failed read fails that login with a clear 500 and is retried by the next one.
 */
export function loginDeps(config: Config = fromEnvironment(['apps', 'wechat', 'login']), options: WiringOptions = {}): LoginDeps {
  const wired = wire(config, options);
  wired.apps
    .find(config.appId)
    .then((app) => app?.secret())
    .catch(() => undefined);
  return { ...wired.deps, ...loginParts(wired) };
}

/**
 * For endpoints that call WeChat's server APIs. The AppSecret is only loaded
 * (from SSM when deployed) by an instance that has to refresh the shared
 * access_token, so these functions' cold starts never wait for SSM.
 */
export function weChatApiDeps(config: Config = fromEnvironment(['apps', 'wechat']), options: WiringOptions = {}): WeChatApiDeps {
  const wired = wire(config, options);
  return { ...wired.deps, ...weChatApiParts(wired) };
}

/** For the endpoints that move credit (spend, history, the server-side grant). */
export function ledgerDeps(config: Config = fromEnvironment([]), options: WiringOptions = {}): LedgerDeps {
  const wired = wire(config, options);
  return { ...wired.deps, ...ledgerParts(wired) };
}

/** POST /credit/checkin: the ledger, and the CHECKIN_* settings, which only the check-in reads. */
export function checkinDeps(config: Config = fromEnvironment(['checkin']), options: WiringOptions = {}): LedgerDeps {
  return ledgerDeps(config, options);
}

/** GET /profile, POST /profile/avatar: the profile store and the avatar bucket (S3 signed like SSM, no S3 client). */
export function profileDeps(config: Config = fromEnvironment(['avatars']), options: WiringOptions = {}): ProfileDeps {
  const wired = wire(config, options);
  return { ...wired.deps, ...profileParts(wired) };
}

/** POST /phonenumber (asked once): the profile and WeChat's server APIs. */
export function profileWeChatDeps(
  config: Config = fromEnvironment(['apps', 'wechat', 'avatars', 'limits']),
  options: WiringOptions = {},
): ProfileDeps & WeChatApiDeps {
  const wired = wire(config, options);
  return { ...wired.deps, ...profileParts(wired), ...weChatApiParts(wired) };
}

/** PUT /profile (msg_sec_check): as /phonenumber, and NICKNAME_REVIEW, which only it reads. */
export function nicknameDeps(
  config: Config = fromEnvironment(['apps', 'wechat', 'avatars', 'nickname', 'limits']),
  options: WiringOptions = {},
): ProfileDeps & WeChatApiDeps {
  return profileWeChatDeps(config, options);
}

/** Every dependency any endpoint takes, on one client, one app registry and one access-token cache per app: for tests and the bench. */
export function allDeps(config: Config, options: WiringOptions = {}): LoginDeps & WeChatApiDeps & LedgerDeps & ProfileDeps {
  const wired = wire(config, options);
  return { ...wired.deps, ...loginParts(wired), ...weChatApiParts(wired), ...ledgerParts(wired), ...profileParts(wired) };
}

const profileParts = ({ config, db, options }: Wired): Pick<ProfileDeps, 'profiles' | 'avatars' | 'userLimits'> => ({
  profiles: createProfileStore(db, config.tables, waitsOf(options)),
  userLimits: createUserLimitStore(db, config.tables.users),
  // Signed with the DynamoDB client's own credentials, region and hash, as SSM is.
  avatars: createAvatarStore(
    createS3Bucket(db.config, {
      bucket: config.avatars.bucket,
      endpoint: config.avatars.s3Endpoint,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      timing: waitsOf(options),
    }),
    config.avatars.urlTtlSeconds,
  ),
});

type Wired = ReturnType<typeof wire>;

function loginParts(wired: Wired): Pick<LoginDeps, 'loginCodes' | 'apps' | 'code2Session' | 'startNewUser'> {
  const { config, db, http, apps } = wired;
  const tokensOf = accessTokensOf(wired);
  return {
    loginCodes: createLoginCodeStore(db, config.tables.logins),
    apps,
    code2Session: (app, code) => createCode2Session({ ...http, appId: app.appId, secret: app.secret })(code),
    // A new user starts with what credit gives it (the sign-up grant, checked by WeChat's risk rank), in the login's transaction.
    startNewUser: createSignupStart(
      config,
      (appId, openid, clientIp) => createUserRiskRank(http, tokensOf(appId), appId)(openid, clientIp),
      config.tables.ledger,
    ),
  };
}

function ledgerParts({ config, db, options }: Wired): Pick<LedgerDeps, 'ledger' | 'balances' | 'sessionWithBalance'> {
  const balances = createBalanceStore(db, config.tables);
  return {
    ledger: createLedgerStore(db, config.tables, balances, waitsOf(options)),
    balances,
    sessionWithBalance: sessionWithBalance(db, config.tables, waitsOf(options)),
  };
}

function weChatApiParts(wired: Wired): Pick<WeChatApiDeps, 'checkSessionKey' | 'getPhoneNumber' | 'checkText'> {
  const { http } = wired;
  const tokensOf = accessTokensOf(wired);
  return {
    checkSessionKey: (appId, openid, sessionKey) => createCheckSessionKey(http, tokensOf(appId))(openid, sessionKey),
    getPhoneNumber: (appId, code, openid) => createGetPhoneNumber(http, tokensOf(appId))(code, openid),
    checkText: (appId, openid, content) => createCheckText(http, tokensOf(appId))(openid, content),
  };
}

/**
 * One access-token cache (item, lease and memory) per app, made when a session of that app first needs it; one
 * set per wiring, shared by its parts (login's risk check, the server-API endpoints). Made here, not in wire(),
 * so that a function that calls no WeChat server API does not bundle the machinery.
 */
const tokenCaches = new WeakMap<Wired, (appId: string) => AccessTokens>();
function accessTokensOf(wired: Wired): (appId: string) => AccessTokens {
  const known = tokenCaches.get(wired);
  if (known) return known;
  const { config, db, http, apps, deps } = wired;
  const perApp = new Map<string, AccessTokens>();
  const tokensOf = (appId: string): AccessTokens => {
    let tokens = perApp.get(appId);
    if (!tokens) {
      tokens = createAccessTokens({
        ...http,
        appId,
        // Only a refresh needs the AppSecret: an app whose registration was removed keeps its live sessions until a refresh.
        secret: async () => {
          const app = await apps.find(appId);
          if (!app) throw new AppError('UNKNOWN_APP', "This session's mini-program is no longer registered with this deployment");
          return app.secret();
        },
        cache: createAccessTokenStore(db, config.tables.appCache, appId),
        now: deps.now,
      });
      perApp.set(appId, tokens);
    }
    return tokens;
  };
  tokenCaches.set(wired, tokensOf);
  return tokensOf;
}

function wire(config: Config, options: WiringOptions) {
  const db = options.db ?? createDocumentClient({ region: config.region, endpoint: config.dynamodbEndpoint });
  const deps: Deps<Config> = {
    config,
    sessions: createSessionStore(db, config.tables, waitsOf(options)),
    users: createUserStore(db, config.tables.users),
    now: options.now ?? Date.now,
    waits: waitsOf(options),
  };
  let http: WeChatHttpOptions | undefined;
  let apps: AppRegistry | undefined;
  // Made when first used, so that a function that calls no WeChat API (credit, spend, profile, ...) neither reads
  // nor checks the WeChat and app settings.
  return {
    config,
    deps,
    db,
    options,
    get http(): WeChatHttpOptions {
      http ??= {
        apiBase: config.wechatApiBase,
        ...(config.wechatApiBackupBase ? { backupBase: config.wechatApiBackupBase } : {}),
        timeoutMs: config.wechatTimeoutMs,
        ...definedOptions(options),
      };
      return http;
    },
    get apps(): AppRegistry {
      if (!apps) {
        // SSM is signed with the DynamoDB client's own credentials, region and hash (lib/aws/ssm.ts).
        const ssmOptions = { ...(options.fetch ? { fetch: options.fetch } : {}), timing: waitsOf(options) };
        const readParameter = options.readParameter ?? createSsmParameterReader(db.config, ssmOptions);
        const listParameters = options.listParameters ?? createSsmParameterLister(db.config, ssmOptions);
        // The default app is held once, as appId/appSecret: a config handed in with either changed means what it says.
        apps = createAppRegistry({ appId: config.appId, secret: config.appSecret }, config.apps, { readParameter, listParameters }, deps.now);
      }
      return apps;
    },
  };
}

const definedOptions = (options: WiringOptions): Partial<WeChatHttpOptions> => ({
  ...(options.fetch ? { fetch: options.fetch } : {}),
  waits: waitsOf(options),
  ...(options.busyRetryDelayMs !== undefined ? { busyRetryDelayMs: options.busyRetryDelayMs } : {}),
});
