import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { createDocumentClient } from '#lib/aws/dynamodb';
import { type Config, readConfig } from '#lib/config';
import type { LedgerDeps } from '#lib/credit/deps';
import type { ProfileDeps } from '#lib/profile/deps';
import type { LoginDeps, WeChatApiDeps } from '#lib/session/deps';
import { allDeps } from '#lib/wiring';
import { localDynamoClient } from '../../local/dynamodb.ts';
import { type FakeWeChat, startFakeWeChat } from '../../local/fake-wechat.ts';
import { createTables, type TableNames } from '../../local/tables.ts';

export const APP_ID = 'wx1234567890abcdef';
/** Each DynamoDB attempt's bound on DynamoDB Local in the tests (production: DYNAMODB_REQUEST_TIMEOUT_MS). */
export const LOCAL_DYNAMODB_REQUEST_TIMEOUT_MS = 5000;
export const APP_SECRET = 'test-app-secret-0123456789';
/** A second mini-program on the same deployment (WECHAT_APPS), for isolation tests. */
export const APP_ID_B = 'wxfedcba0987654321';
export const APP_SECRET_B = 'test-app-secret-b-9876543210';

/**
 * A controllable clock: tests move time instead of sleeping. It starts a day ahead of the real time,
 * which DynamoDB Local's own TTL sweeper goes by: a record that lives seconds (a login code's) is
 * never deleted under a test that compares the tables before and after a request.
 */
export function testClock(start = Date.now() + 86_400_000) {
  let now = start;
  return {
    now: () => now,
    advanceSeconds(seconds: number) {
      now += seconds * 1000;
    },
    advanceMs(ms: number) {
      now += ms;
    },
  };
}

/**
 * The waits every part of the stack pauses on (WiringOptions.sleep): real by default; held, a test knows when the
 * code under test has started waiting (`parked`), moves its clock, and lets the wait end (`release`), with no
 * sleep of its own.
 */
export function testWaits() {
  let holding = false;
  const parkedSleeps: Array<() => void> = [];
  const parkListeners: Array<() => void> = [];
  return {
    sleep: (ms: number): Promise<void> => {
      if (!holding) return new Promise((resolve) => setTimeout(resolve, ms));
      return new Promise<void>((resolve) => {
        parkedSleeps.push(resolve);
        for (const notify of parkListeners.splice(0)) notify();
      });
    },
    /** From now on every wait is held until release(). */
    hold() {
      holding = true;
    },
    /** Resolves once some wait is held (at once if one already is). */
    parked(): Promise<void> {
      return parkedSleeps.length > 0 ? Promise.resolve() : new Promise((resolve) => parkListeners.push(resolve));
    },
    /** Ends every held wait and stops holding. */
    release() {
      holding = false;
      for (const resolve of parkedSleeps.splice(0)) resolve();
    },
  };
}

/** Every dependency any handler takes. */
export type TestDeps = LoginDeps & WeChatApiDeps & LedgerDeps & ProfileDeps;

export interface TestStack {
  deps: TestDeps;
  fake: FakeWeChat;
  clock: ReturnType<typeof testClock>;
  waits: ReturnType<typeof testWaits>;
  tables: TableNames;
  /** The avatars' bucket on s3rver, and s3rver's address. */
  bucket: string;
  s3Endpoint: string;
  /** A raw client on the same DynamoDB Local, to look at what was (not) written. */
  admin: DynamoDBClient;
  config: Config;
  close(): Promise<void>;
}

/**
 * Real parts only: DynamoDB Local (tables of resources/dynamodb.yml, fresh per
 * call), the fake WeChat over real HTTP, the production store and WeChat client.
 */
export async function startTestStack(
  overrides: Partial<Record<string, string>> = {},
  { dynamoRequestTimeoutMs = LOCAL_DYNAMODB_REQUEST_TIMEOUT_MS }: { dynamoRequestTimeoutMs?: number } = {},
): Promise<TestStack> {
  // A file that disturbs DynamoDB (test/integration/dynamodb-faults.test.ts) brings its own.
  const endpoint = overrides.DYNAMODB_ENDPOINT ?? inject('dynamodbEndpoint');
  const suffix = randomUUID().slice(0, 8);
  const tables = {
    sessions: `sessions-${suffix}`,
    users: `users-${suffix}`,
    logins: `logins-${suffix}`,
    appCache: `app-cache-${suffix}`,
    ledger: `ledger-${suffix}`,
  };
  const admin = localDynamoClient(endpoint);
  await createTables(admin, tables);
  // A bucket of its own on the run's s3rver (test/support/s3-global-setup.ts).
  const s3Endpoint = overrides.S3_ENDPOINT ?? inject('s3Endpoint');
  const bucket = `avatars-${suffix}`;
  const created = await fetch(`${s3Endpoint}/${bucket}`, { method: 'PUT' });
  if (!created.ok) throw new Error(`s3rver did not create the bucket ${bucket}: ${created.status}`);

  const clock = testClock();
  // One time for both sides, as in production: WeChat's token lifetimes and force_refresh limits follow the test clock.
  const fake = await startFakeWeChat({ appId: APP_ID, secret: APP_SECRET, apps: [{ appId: APP_ID_B, secret: APP_SECRET_B }], now: clock.now });
  const config = readConfig({
    WECHAT_APPID: APP_ID,
    WECHAT_SECRET: APP_SECRET,
    WECHAT_APPS: `${APP_ID_B}=${APP_SECRET_B}`,
    WECHAT_API_BASE: fake.url,
    WECHAT_TIMEOUT_MS: '500',
    SESSIONS_TABLE: tables.sessions,
    USERS_TABLE: tables.users,
    LOGINS_TABLE: tables.logins,
    APP_CACHE_TABLE: tables.appCache,
    LEDGER_TABLE: tables.ledger,
    DYNAMODB_ENDPOINT: endpoint,
    AVATARS_BUCKET: bucket,
    S3_ENDPOINT: s3Endpoint,
    ...overrides,
  });
  // Each attempt may wait longer than DynamoDB's own second: DynamoDB Local queues transactions one at a time, and on
  // a busy machine (two suites at once) a crowd of them takes seconds. The request deadline is unchanged; the file
  // that tests the bounds themselves (dynamodb-faults.test.ts) asks for production's.
  const db = createDocumentClient({ region: config.region, endpoint: config.dynamodbEndpoint, requestTimeoutMs: dynamoRequestTimeoutMs });
  // As production wires it (lib/wiring.ts); only the clock, the waits and the busy pause differ.
  const waits = testWaits();
  const deps: TestDeps = allDeps(config, { db, now: clock.now, sleep: waits.sleep, busyRetryDelayMs: 20 });
  return {
    deps,
    fake,
    clock,
    waits,
    tables,
    bucket,
    s3Endpoint,
    admin,
    config,
    async close() {
      await fake.close();
      try {
        for (const TableName of Object.values(tables)) await admin.send(new DeleteTableCommand({ TableName }));
      } finally {
        admin.destroy();
        db.destroy();
      }
    },
  };
}
