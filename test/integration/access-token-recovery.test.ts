import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { type AccessTokenStore, createAccessTokenStore } from '#lib/store/access-tokens';
import { createAccessTokens } from '#lib/wechat/access-token';
import { createTables } from '../../local/tables.ts';
import { APP_ID, APP_SECRET } from '../support/stack.ts';
import { useTestStack } from '../support/use-stack.ts';

const { stack } = useTestStack();

const extraTables: string[] = [];
/** Another app-cache table: another stage's cache, or a cache no test has touched yet. */
async function appCacheTable(name: string): Promise<string> {
  const appCache = `${stack.tables.appCache}-${name}`;
  await createTables(stack.admin, { ...stack.tables, appCache });
  extraTables.push(appCache);
  return appCache;
}
afterAll(async () => {
  for (const TableName of extraTables) await stack.admin.send(new DeleteTableCommand({ TableName }));
});

const store = (table = stack.tables.appCache) => createAccessTokenStore(DynamoDBDocumentClient.from(stack.admin), table);

/** What a fresh Lambda instance has: its own memory, a shared DynamoDB cache. */
function instance(options: { table?: string; cache?: AccessTokenStore; secret?: () => Promise<string> } = {}) {
  return createAccessTokens({
    apiBase: stack.config.wechatApiBase,
    timeoutMs: stack.config.wechatTimeoutMs,
    appId: APP_ID,
    secret: options.secret ?? (async () => APP_SECRET),
    cache: options.cache ?? store(options.table),
    now: stack.clock.now,
  });
}

const stableTokenCallsSince = (before: number) => stack.fake.stableTokenCalls.slice(before);

describe('the refresh lease', () => {
  it('a late save does not put back a token that a newer refresh replaced: the late instance answers with the cached one', async () => {
    const table = await appCacheTable('late');
    let reached!: () => void;
    const saving = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const real = store(table);
    // DynamoDB is slow to take this instance's save: it lands after its lease has run out.
    const slow: AccessTokenStore = {
      ...real,
      save: async (...args: Parameters<AccessTokenStore['save']>) => {
        reached();
        await released;
        return real.save(...args);
      },
    };
    const late = instance({ cache: slow }).get();
    await saving;
    stack.fake.expireAccessToken(); // the late instance's token dies meanwhile
    stack.clock.advanceSeconds(10); // past its lease
    const newer = await instance({ table }).get();
    release();
    expect(await late).toBe(newer);
    expect((await real.read())?.accessToken).toBe(newer);
  });

  it('a failed refresh gives the lease back at once: the next instance refreshes without waiting', async () => {
    const table = await appCacheTable('lease');
    const broken = instance({
      table,
      secret: async () => {
        throw new Error('SSM unreachable');
      },
    });
    await expect(broken.get()).rejects.toThrow('SSM unreachable');
    const before = stack.fake.stableTokenCalls.length;
    // With the lease still taken (the clock stands still), this instance would wait for a refresh that never comes, then fail.
    expect(await instance({ table }).get()).toEqual(expect.stringMatching(/^fake-access-token-/));
    expect(stableTokenCallsSince(before)).toEqual([false]);
  });
});
