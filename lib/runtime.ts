import { appSecretProvider } from '#lib/app-secret';
import { readConfig } from '#lib/config';
import type { Deps, LoginDeps, WeChatApiDeps } from '#lib/deps';
import { createAccessTokenCache } from '#lib/store/access-token-cache';
import { createAccessTokens } from '#lib/wechat/access-token';
import { createGetPhoneNumber } from '#lib/wechat/phone-number';
import { createCheckSessionKey } from '#lib/wechat/session-check';
import { createDocumentClient } from '#lib/store/client';
import { createDynamoStore } from '#lib/store/dynamo-store';
import { createSsmParameterReader } from '#lib/ssm';
import { createCode2Session } from '#lib/wechat/code2session';

/**
 * Production dependencies, built once per Lambda instance at module load:
 * config parsed (throws naming a bad variable), one DynamoDB client reused by
 * every invocation. No I/O happens here.
 */
export function productionDeps(env: NodeJS.ProcessEnv = process.env): Deps {
  return depsOn(readConfig(env)).deps;
}

function depsOn(config: Deps['config']) {
  const db = createDocumentClient({ region: config.region, endpoint: config.dynamodbEndpoint });
  const deps: Deps = {
    config,
    store: createDynamoStore(db, { sessions: config.sessionsTable, users: config.usersTable, logins: config.loginsTable }),
    now: Date.now,
  };
  // SSM is signed with the DynamoDB client's own credentials, region and hash (lib/ssm.ts).
  const readParameter = createSsmParameterReader(db.config);
  return { deps, db, readParameter };
}

/**
 * For endpoints that call WeChat's server APIs. The AppSecret is only loaded
 * (from SSM when deployed) by an instance that has to refresh the shared
 * access_token, so these functions' cold starts never wait for SSM.
 */
export function productionWeChatApiDeps(env: NodeJS.ProcessEnv = process.env): WeChatApiDeps {
  const { deps, db, readParameter } = depsOn(readConfig(env));
  const { appId, wechatApiBase: apiBase, wechatTimeoutMs: timeoutMs } = deps.config;
  const tokens = createAccessTokens({
    apiBase,
    timeoutMs,
    appId,
    secret: appSecretProvider(env, readParameter),
    cache: createAccessTokenCache(db, deps.config.appCacheTable),
    now: deps.now,
  });
  const http = { apiBase, timeoutMs };
  return { ...deps, checkSessionKey: createCheckSessionKey(http, tokens), getPhoneNumber: createGetPhoneNumber(http, tokens) };
}

/**
 * Also the AppSecret: its SSM read starts here, during the init phase, and the
 * first login awaits it. No top-level await, so every bundle can be CommonJS,
 * which loads faster (BENCHMARKS.md); a failed read fails that login with a
 * clear 500 and is retried by the next one.
 */
export function productionLoginDeps(env: NodeJS.ProcessEnv = process.env): LoginDeps {
  const { deps, readParameter } = depsOn(readConfig(env));
  const { appId, wechatApiBase, wechatTimeoutMs } = deps.config;
  const secret = appSecretProvider(env, readParameter);
  secret().catch(() => undefined);
  return { ...deps, code2Session: createCode2Session({ apiBase: wechatApiBase, appId, secret, timeoutMs: wechatTimeoutMs }) };
}
