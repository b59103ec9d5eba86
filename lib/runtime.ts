import { loadAppSecret } from '#lib/app-secret';
import { readConfig } from '#lib/config';
import type { Deps, LoginDeps } from '#lib/deps';
import { createDocumentClient } from '#lib/store/client';
import { createDynamoStore } from '#lib/store/dynamo-store';
import { createCode2Session } from '#lib/wechat/code2session';

/**
 * Production dependencies, built once per Lambda instance at module load:
 * config parsed (throws naming a bad variable), one DynamoDB client reused by
 * every invocation. No I/O happens here.
 */
export function productionDeps(env: NodeJS.ProcessEnv = process.env): Deps {
  const config = readConfig(env);
  const db = createDocumentClient({ region: config.region, endpoint: config.dynamodbEndpoint });
  return {
    config,
    store: createDynamoStore(db, { sessions: config.sessionsTable, users: config.usersTable, logins: config.loginsTable }),
    now: Date.now,
  };
}

/** Also resolves the AppSecret (from SSM when deployed): awaited once, at cold start. */
export async function productionLoginDeps(env: NodeJS.ProcessEnv = process.env): Promise<LoginDeps> {
  const deps = productionDeps(env);
  const { appId, wechatApiBase, wechatTimeoutMs } = deps.config;
  return {
    ...deps,
    code2Session: createCode2Session({
      apiBase: wechatApiBase,
      appId,
      secret: await loadAppSecret(env),
      timeoutMs: wechatTimeoutMs,
    }),
  };
}
