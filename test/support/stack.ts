import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { type Config, readConfig } from '#lib/config';
import type { LoginDeps } from '#lib/deps';
import { createDocumentClient } from '#lib/store/client';
import { createDynamoStore } from '#lib/store/dynamo-store';
import { createCode2Session } from '#lib/wechat/code2session';
import { localDynamoClient } from '../../local/dynamodb.ts';
import { startFakeWeChat, type FakeWeChat } from '../../local/fake-wechat.ts';
import { createTables, type TableNames } from '../../local/tables.ts';

export const APP_ID = 'wx1234567890abcdef';
export const APP_SECRET = 'test-app-secret-0123456789';

/** A controllable clock: tests move time instead of sleeping. */
export function testClock(start = Date.now()) {
  let now = start;
  return {
    now: () => now,
    advanceSeconds(seconds: number) {
      now += seconds * 1000;
    },
  };
}

export interface TestStack {
  deps: LoginDeps;
  fake: FakeWeChat;
  clock: ReturnType<typeof testClock>;
  tables: TableNames;
  /** A raw client on the same DynamoDB Local, to look at what was (not) written. */
  admin: DynamoDBClient;
  config: Config;
  close(): Promise<void>;
}

/**
 * Real parts only: DynamoDB Local (tables of resources/dynamodb.yml, fresh per
 * call), the fake WeChat over real HTTP, the production store and WeChat client.
 */
export async function startTestStack(overrides: Partial<Record<string, string>> = {}): Promise<TestStack> {
  const endpoint = inject('dynamodbEndpoint');
  const suffix = randomUUID().slice(0, 8);
  const tables = { sessions: `sessions-${suffix}`, users: `users-${suffix}`, logins: `logins-${suffix}` };
  const admin = localDynamoClient(endpoint);
  await createTables(admin, tables);

  const fake = await startFakeWeChat({ appId: APP_ID, secret: APP_SECRET });
  const config = readConfig({
    WECHAT_APPID: APP_ID,
    WECHAT_API_BASE: fake.url,
    WECHAT_TIMEOUT_MS: '500',
    SESSIONS_TABLE: tables.sessions,
    USERS_TABLE: tables.users,
    LOGINS_TABLE: tables.logins,
    DYNAMODB_ENDPOINT: endpoint,
    ...overrides,
  });
  const clock = testClock();
  const db = createDocumentClient({ region: config.region, endpoint: config.dynamodbEndpoint });
  const deps: LoginDeps = {
    config,
    now: clock.now,
    store: createDynamoStore(db, tables),
    code2Session: createCode2Session({
      apiBase: config.wechatApiBase,
      appId: config.appId,
      secret: APP_SECRET,
      timeoutMs: config.wechatTimeoutMs,
      retryDelayMs: 20,
    }),
  };
  return {
    deps,
    fake,
    clock,
    tables,
    admin,
    config,
    async close() {
      await fake.close();
      for (const TableName of Object.values(tables)) await admin.send(new DeleteTableCommand({ TableName }));
      admin.destroy();
      db.destroy();
    },
  };
}
