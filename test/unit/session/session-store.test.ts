import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { createSignupStart } from '#lib/credit/signup';
import { AppError } from '#lib/kernel/errors';
import { createSessionStore, findSessionWithItem } from '#lib/session/session-store';
import { conflict, recordedPauses, stubClient, TABLES } from '../../support/dynamodb-stub.ts';

// The session store's transactions and reads on a stubbed client (once part of a single store test file; the ledger's are in test/unit/credit/ledger.test.ts, the login codes' in login-codes.test.ts).
const newUser = { uid: 'u', appid: 'wx1234567890abcdef', openid: 'o1', clientIp: '203.0.113.7', createdAtMs: 1000 };
const SIGNUP = { initialCredit: 100, signupRisk: { maxRank: 2, timeoutMs: 1000, whenUnknown: 'grant' as const } };
/** What credit hands the login transaction for a new user (its real code), with WeChat's risk rank stubbed. */
const signupWithRank = (rank: number) => () => createSignupStart(SIGNUP, async () => rank, 'g')(newUser);
const signup = signupWithRank(0);

/** The values a new user's UpdateItem sets, by attribute name (the other features' attributes are named #s0, #s1, …). */
function assigned(update: { ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues: Record<string, unknown> }) {
  const names = update.ExpressionAttributeNames ?? {};
  return Object.fromEntries(Object.entries(names).map(([placeholder, name]) => [name, update.ExpressionAttributeValues[`:${placeholder.slice(1)}`]]));
}
const session = { uid: 'u', appid: 'wx1234567890abcdef', tokenHash: 'h', openid: 'o1', sessionKey: 'k', createdAt: 1, expiresAt: 2 };

describe('login transaction', () => {
  it('retries a transaction that lost a race with another login of the same user', async () => {
    const { db, calls } = stubClient([conflict(), conflict(), undefined]);
    const { pauses, sleep } = recordedPauses();
    await createSessionStore(db, TABLES, { sleep }).create(session, undefined, signup);
    expect(calls).toHaveLength(3);
    // Full jitter up to 20 * 2^n ms, on the injected sleep: nothing waited for real.
    expect(pauses).toHaveLength(2);
    expect(pauses[0]).toBeLessThanOrEqual(40);
    expect(pauses[1]).toBeLessThanOrEqual(80);
  });

  it('gives up after 6 conflicting attempts with a 503-class error', async () => {
    const { db, calls } = stubClient(Array.from({ length: 6 }, conflict));
    const { pauses, sleep } = recordedPauses();
    const error = await createSessionStore(db, TABLES, { sleep })
      .create(session, undefined, signup)
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('STORAGE_UNAVAILABLE');
    expect(calls).toHaveLength(6);
    expect(pauses).toHaveLength(5);
  });

  it('does not retry a cancellation that is not a conflict', async () => {
    const notConflict = new TransactionCanceledException({
      message: 'cancelled',
      $metadata: {},
      CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
    });
    const { db, calls } = stubClient([notConflict]);
    await expect(createSessionStore(db, TABLES).create(session, undefined, signup)).rejects.toBeInstanceOf(AppError);
    expect(calls).toHaveLength(1);
  });

  it.each([
    [0, 'code used up'],
    [2, 'logged out everywhere'],
  ] as const)('tells a replay refused by the condition of item %i as %s, without retrying', async (index, outcome) => {
    const reasons = [{ Code: 'None' }, { Code: 'None' }, { Code: 'None' }];
    reasons[index] = { Code: 'ConditionalCheckFailed' };
    const refused = new TransactionCanceledException({ message: 'cancelled', $metadata: {}, CancellationReasons: reasons });
    const { db, calls } = stubClient([refused]);
    const replayed = { codeHash: 'c', exchangedAtMs: 1, maxReplays: 2 };
    expect(await createSessionStore(db, TABLES).create(session, { replayed }, signup)).toBe(outcome);
    expect(calls).toHaveLength(1);
  });

  it("writes a returning user's login with the session in one transaction, never touching its credit", async () => {
    const { db, calls } = stubClient([undefined]);
    await createSessionStore(db, TABLES).create({ ...session, unionid: 'u1' }, undefined, signup);
    const input = (calls[0] as { input: { TransactItems: Record<string, any>[] } }).input;
    expect(input.TransactItems).toHaveLength(2);
    expect(input.TransactItems[0]?.Put.TableName).toBe('s');
    const update = input.TransactItems[1]?.Update;
    expect(update.TableName).toBe('u');
    expect(update.ConditionExpression).toBe('attribute_exists(uid)');
    expect(update.UpdateExpression).not.toContain('credit');
    expect(update.UpdateExpression).toContain('unionid = :unionid');
    // unionid is the user's (indexed, sparse), never the session's.
    expect(input.TransactItems[0]?.Put.Item).not.toHaveProperty('unionid');
  });

  it('creates a user that is not there yet with the sign-up grant as its balance and first entry, deciding the grant once', async () => {
    const absent = new TransactionCanceledException({
      message: 'cancelled',
      $metadata: {},
      CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
    });
    const { db, calls } = stubClient([absent, undefined]);
    let decided = 0;
    const outcome = await createSessionStore(db, TABLES).create(session, undefined, async () => {
      decided++;
      return signupWithRank(4)();
    });
    expect(outcome).toBe('created');
    expect(decided).toBe(1);
    const items = (calls[1] as { input: { TransactItems: Record<string, any>[] } }).input.TransactItems;
    expect(items).toHaveLength(4);
    expect(items[1]?.Update.ConditionExpression).toBe('attribute_not_exists(uid)');
    // Nothing of credit on the user item: the balance is credit's own item, in credit's own table.
    expect(assigned(items[1]?.Update)).toEqual({});
    expect(items[2]?.Put).toMatchObject({
      TableName: 'g',
      Item: { uid: 'u', entryKey: '#balance', credit: 0, ledgerSeq: 1, signupRiskRank: 4 },
      ConditionExpression: 'attribute_not_exists(entryKey)',
    });
    expect(items[3]?.Put).toMatchObject({ TableName: 'g', Item: { uid: 'u', entryKey: 'signup', seq: 1, amount: 0, balance: 0, reason: 'signup' } });
  });
});

describe('/credit read (BatchGetItem)', () => {
  const ref = { uid: 'u', tokenHash: 'h' };
  const sessionItem = { uid: 'u', tokenHash: 'h', appid: 'wx1234567890abcdef', openid: 'o1', sessionKey: 'k', expiresAt: 100 };
  const batchClient = (replies: Record<string, unknown>[]) => {
    const calls: { RequestItems: Record<string, unknown> }[] = [];
    const db = {
      send: async (command: { input: { RequestItems: Record<string, unknown> } }) => {
        calls.push(command.input);
        return replies.shift() ?? {};
      },
    } as unknown as DynamoDBDocumentClient;
    return { db, calls };
  };
  const waits = recordedPauses();
  /** The session with one more item of its user (here the user item; credit's balance item for the credit routes). */
  const read = (db: DynamoDBDocumentClient, nowSeconds: number) =>
    findSessionWithItem(db, 's', ref, nowSeconds, { table: 'u', key: { uid: 'u' } }, { sleep: waits.sleep });

  it('asks again for keys DynamoDB left unprocessed, only those, and joins the answers', async () => {
    const { db, calls } = batchClient([
      { Responses: { s: [sessionItem] }, UnprocessedKeys: { u: { Keys: [{ uid: 'u' }], ConsistentRead: true } } },
      { Responses: { u: [{ credit: 9 }] } },
    ]);
    expect(await read(db, 50)).toEqual({
      session: { uid: 'u', appid: 'wx1234567890abcdef', openid: 'o1', sessionKey: 'k', expiresAt: 100 },
      item: { credit: 9 },
    });
    expect(calls).toHaveLength(2);
    expect(Object.keys(calls[1]!.RequestItems)).toEqual(['u']);
  });

  it('gives up after 3 rounds that leave keys unprocessed, with 503 STORAGE_UNAVAILABLE', async () => {
    const stuck = { UnprocessedKeys: { s: { Keys: [ref], ConsistentRead: true } } };
    const { db, calls } = batchClient([stuck, stuck, stuck, stuck]);
    const error = await read(db, 50).catch((err: unknown) => err);
    expect((error as AppError).code).toBe('STORAGE_UNAVAILABLE');
    expect(calls).toHaveLength(3);
    // 80 then 160 ms between the rounds, on the injected sleep.
    expect(waits.pauses.slice(-2)).toEqual([80, 160]);
  });

  it('an expired session is absent, whatever its user', async () => {
    const { db } = batchClient([{ Responses: { s: [sessionItem], u: [{ credit: 9 }] } }]);
    expect(await read(db, 100)).toBeUndefined();
  });
});
