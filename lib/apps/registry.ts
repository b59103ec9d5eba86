import * as v from 'valibot';
import { APP_SECRET, type AppSecretSource, appSecretProvider, type ReadParameter } from '#lib/apps/app-secret';
import type { ListParameters } from '#lib/aws/ssm';
import { type Env, wholeNumber } from '#lib/kernel/env';
import { AppError, ConfigError } from '#lib/kernel/errors';
import { type Clock, epochSeconds } from '#lib/kernel/time';

/** A mini-program's AppID: `wx` and 16 hex digits. */
export const APPID = /^wx[0-9a-f]{16}$/i;

/** An AppID in a request (a body field, a header, an invoked grant), with a message naming where it came from. */
export const appIdField = (where: string) =>
  v.pipe(v.string(`${where} must be a string`), v.regex(APPID, `${where} must be a mini-program AppID: wx and 16 hex digits`));

/**
 * The mini-programs this deployment serves. The default app is WECHAT_APPID
 * with its AppSecret, as for a single-app team; more apps are registered
 * without a redeploy: one SSM SecureString each under WECHAT_APPS_PARAM_PATH
 * (deployed), or WECHAT_APPS=wx…=secret,wx…=secret (local runs and tests).
 */
/** The default app: WECHAT_APPID and its AppSecret, held by Config as appId and appSecret (and only there). */
export interface DefaultApp {
  appId: string;
  secret: AppSecretSource;
}

export interface AppSources {
  /** Local and tests: more apps with their AppSecrets. */
  listed: ReadonlyMap<string, string>;
  /** Deployed: the SSM path whose `<path><appid>` parameters hold further apps' AppSecrets. */
  parameterPath: string | undefined;
  /** How long an instance trusts its listing of the apps path (which apps are registered, their AppSecrets): it lists at most once per period. */
  cacheSeconds: number;
}

export interface App {
  appId: string;
  /** The app's AppSecret, read when a request needs it. */
  secret: () => Promise<string>;
}

export interface AppRegistry {
  readonly defaultAppId: string;
  /** The registered app with this AppID, or undefined (never registered, or its parameter deleted); rejects with a 503 when SSM cannot say. */
  find(appId: string): Promise<App | undefined>;
}

export function appSources(env: Env): AppSources {
  const listed = new Map<string, string>();
  for (const entry of (env.WECHAT_APPS ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const at = entry.indexOf('=');
    const appId = entry.slice(0, at);
    const secret = entry.slice(at + 1);
    if (at < 0 || !APPID.test(appId) || !APP_SECRET.test(secret)) {
      throw new ConfigError('WECHAT_APPS is malformed: expected wx<16 hex>=<AppSecret>,… (secrets of 8-128 printable characters)');
    }
    listed.set(appId, secret);
  }
  const path = env.WECHAT_APPS_PARAM_PATH?.trim();
  if (path !== undefined && path !== '' && !/^\/[\w.\-/]+\/$/.test(path)) {
    throw new ConfigError(`WECHAT_APPS_PARAM_PATH must be an SSM path that starts and ends with "/", got "${path}"`);
  }
  const cacheSeconds = wholeNumber(env, 'APPS_CACHE_SECONDS', 60, 1, 3600);
  return { listed, parameterPath: path || undefined, cacheSeconds };
}

/** What the registry asks SSM: one GetParameter for the default app's AppSecret, one listing of the apps path. */
export interface AppParameters {
  readParameter: ReadParameter;
  listParameters: ListParameters;
}

/**
 * The default and listed apps never change. The apps registered in SSM are learnt by listing the whole path
 * (GetParametersByPath), at most once per instance and `cacheSeconds`, never by asking about a name: an AppID
 * that is not in the listing is unknown (400) without any SSM call, and nothing is remembered about it, so
 * made-up AppIDs cost neither SSM calls nor memory. The listing holds only the registered apps.
 *
 * A failed listing (SSM down, throttled) is remembered for `cacheSeconds` too, so whatever is sent, an instance
 * lists at most once per period. Meanwhile the apps of the last good listing keep working (stale rather than
 * down: an SSM outage does not take registered apps down), and an app this instance cannot know about is a 503
 * STORAGE_UNAVAILABLE (we cannot say it is unknown), never a 400.
 */
export function createAppRegistry(defaultApp: DefaultApp, sources: AppSources, ssm: AppParameters, now: Clock): AppRegistry {
  const fixed = new Map<string, App>();
  fixed.set(defaultApp.appId, { appId: defaultApp.appId, secret: appSecretProvider(defaultApp.secret, ssm.readParameter) });
  for (const [appId, value] of sources.listed) fixed.set(appId, { appId, secret: async () => value });

  const path = sources.parameterPath;
  let lastGood: ReadonlyMap<string, App> | undefined;
  let listing: { apps: Promise<ReadonlyMap<string, App>>; until: number } | undefined;

  const list = async (parameterPath: string): Promise<ReadonlyMap<string, App>> => {
    try {
      // The path without its trailing "/": IAM authorizes the listing against it (serverless.yml).
      const parameters = await ssm.listParameters(parameterPath.slice(0, -1));
      const apps = new Map<string, App>();
      for (const [name, value] of parameters) {
        const appId = name.slice(parameterPath.length);
        if (name.startsWith(parameterPath) && APPID.test(appId)) apps.set(appId, { appId, secret: async () => value });
      }
      lastGood = apps;
      return apps;
    } catch (err) {
      if (lastGood) return lastGood;
      // SSM's error names what failed (throttling, a missing permission); it holds no secret.
      const reason = err instanceof Error ? `${err.name}: ${err.message.slice(0, 200)}` : 'unknown error';
      throw new AppError('STORAGE_UNAVAILABLE', 'The registered mini-programs could not be read: retry shortly', { appsListing: reason });
    }
  };

  const registered = (parameterPath: string): Promise<ReadonlyMap<string, App>> => {
    const nowSeconds = epochSeconds(now);
    if (!listing || nowSeconds >= listing.until) {
      const apps = list(parameterPath);
      // Handled here too: a failed listing is remembered (and rejected to each caller) without an unhandled rejection.
      apps.catch(() => undefined);
      listing = { apps, until: nowSeconds + sources.cacheSeconds };
    }
    return listing.apps;
  };

  return {
    defaultAppId: defaultApp.appId,
    async find(appId) {
      const known = fixed.get(appId);
      if (known || !path || !APPID.test(appId)) return known;
      return (await registered(path)).get(appId);
    },
  };
}
