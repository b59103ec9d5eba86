import * as v from 'valibot';
import { type AppSecretSource, appSecretProvider, type ReadParameter } from '#lib/apps/app-secret';
import type { Env } from '#lib/kernel/env';
import { ConfigError } from '#lib/kernel/errors';
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
export interface AppSources {
  defaultApp: { appId: string; secret: AppSecretSource };
  /** Local and tests: more apps with their AppSecrets. */
  listed: ReadonlyMap<string, string>;
  /** Deployed: the SSM path whose `<path><appid>` parameters hold further apps' AppSecrets. */
  parameterPath: string | undefined;
  /** How long an instance trusts what it looked up about an app (its AppSecret, or that it is not registered). */
  cacheSeconds: number;
}

export interface App {
  appId: string;
  /** The app's AppSecret, read when a request needs it. */
  secret: () => Promise<string>;
}

export interface AppRegistry {
  readonly defaultAppId: string;
  /** The registered app with this AppID, or undefined (never registered, or its parameter deleted). */
  find(appId: string): Promise<App | undefined>;
}

export function appSources(env: Env, defaultApp: AppSources['defaultApp']): AppSources {
  const listed = new Map<string, string>();
  for (const entry of (env.WECHAT_APPS ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const at = entry.indexOf('=');
    const appId = entry.slice(0, at);
    const secret = entry.slice(at + 1);
    if (at < 0 || !APPID.test(appId) || !/^[\x21-\x7e]{8,128}$/.test(secret)) {
      throw new ConfigError('WECHAT_APPS is malformed: expected wx<16 hex>=<AppSecret>,… (secrets of 8-128 printable characters)');
    }
    listed.set(appId, secret);
  }
  const path = env.WECHAT_APPS_PARAM_PATH?.trim();
  if (path !== undefined && path !== '' && !/^\/[\w.\-/]+\/$/.test(path)) {
    throw new ConfigError(`WECHAT_APPS_PARAM_PATH must be an SSM path that starts and ends with "/", got "${path}"`);
  }
  const rawSeconds = env.APPS_CACHE_SECONDS?.trim() || '60';
  const cacheSeconds = Number(rawSeconds);
  if (!/^\d+$/.test(rawSeconds) || cacheSeconds < 1 || cacheSeconds > 3600) {
    throw new ConfigError(`APPS_CACHE_SECONDS must be a whole number from 1 to 3600, got "${rawSeconds}"`);
  }
  return { defaultApp, listed, parameterPath: path || undefined, cacheSeconds };
}

/**
 * Looks apps up once per instance and cache time: the default and listed apps
 * never change; an SSM-registered app's AppSecret (or its absence) is trusted
 * for `cacheSeconds`, which bounds how long a deleted parameter keeps its app alive.
 */
export function createAppRegistry(sources: AppSources, readParameter: ReadParameter, now: Clock): AppRegistry {
  const fixed = new Map<string, App>();
  fixed.set(sources.defaultApp.appId, { appId: sources.defaultApp.appId, secret: appSecretProvider(sources.defaultApp.secret, readParameter) });
  for (const [appId, value] of sources.listed) fixed.set(appId, { appId, secret: async () => value });

  const looked = new Map<string, { app: Promise<App | undefined>; until: number }>();
  const lookUp = async (appId: string, parameter: string): Promise<App | undefined> => {
    try {
      const value = await readParameter(parameter);
      return value ? { appId, secret: async () => value } : undefined;
    } catch (err) {
      if (err instanceof Error && err.name === 'ParameterNotFound') return undefined;
      throw err;
    }
  };

  return {
    defaultAppId: sources.defaultApp.appId,
    async find(appId) {
      const known = fixed.get(appId);
      if (known || !sources.parameterPath || !APPID.test(appId)) return known;
      const nowSeconds = epochSeconds(now);
      const cached = looked.get(appId);
      if (cached && nowSeconds < cached.until) return cached.app;
      const app = lookUp(appId, `${sources.parameterPath}${appId}`);
      looked.set(appId, { app, until: nowSeconds + sources.cacheSeconds });
      // A failed read (SSM down) is not remembered: the next request asks again.
      app.catch(() => looked.delete(appId));
      return app;
    },
  };
}
