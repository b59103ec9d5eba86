import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DYNAMODB_CLEANUP_BOUND_MS } from '#lib/aws/dynamodb';
import { createLedgerStore } from '#lib/credit/ledger';
import { createSignupStart } from '#lib/credit/signup';
import { STATUS_BY_CODE } from '#lib/http/status';
import { AppError } from '#lib/kernel/errors';
import { createLoginCodeStore } from '#lib/session/login-codes';
import { createSessionStore } from '#lib/session/session-store';

// DynamoDB Local serialises transactions, so it never produces the TransactionConflict
// that real DynamoDB gives two simultaneous logins of one user: stub the client here.
const conflict = () =>
  new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
  });

function stubClient(outcomes: (Error | undefined)[]) {
  const calls: unknown[] = [];
  const db = {
    send: async (command: unknown) => {
      calls.push(command);
      const outcome = outcomes.shift();
      if (outcome) throw outcome;
      return {};
    },
  } as unknown as DynamoDBDocumentClient;
  return { db, calls };
}

const TABLES = { sessions: 's', users: 'u', logins: 'l', ledger: 'g' };
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
    await createSessionStore(db, TABLES).create(session, undefined, signup);
    expect(calls).toHaveLength(3);
  });

  it('gives up after 6 conflicting attempts with a 503-class error', async () => {
    const { db, calls } = stubClient(Array.from({ length: 6 }, conflict));
    const error = await createSessionStore(db, TABLES)
      .create(session, undefined, signup)
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('STORAGE_UNAVAILABLE');
    expect(calls).toHaveLength(6);
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
    expect(items).toHaveLength(3);
    expect(items[1]?.Update.ConditionExpression).toBe('attribute_not_exists(uid)');
    expect(assigned(items[1]?.Update)).toEqual({ credit: 0, ledgerSeq: 1, signupRiskRank: 4 });
    expect(items[2]?.Put).toMatchObject({ TableName: 'g', Item: { uid: 'u', entryKey: 'signup', seq: 1, amount: 0, balance: 0, reason: 'signup' } });
  });
});

describe('cleanup writes after a failed login', () => {
  it('giving a code claim back or marking it spent is abandoned after DYNAMODB_CLEANUP_BOUND_MS', async () => {
    // A DynamoDB that never answers: only the send's own abort signal can end the call.
    const db = {
      send: (_command: unknown, options?: { abortSignal?: AbortSignal }) =>
        new Promise((_resolve, reject) => {
          options?.abortSignal?.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })));
        }),
    } as unknown as DynamoDBDocumentClient;
    const loginCodes = createLoginCodeStore(db, 'l');
    for (const cleanup of [() => loginCodes.release('code-hash', 'claim'), () => loginCodes.spend('code-hash', 'claim')]) {
      const started = performance.now();
      await expect(cleanup()).rejects.toBeInstanceOf(AppError);
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(DYNAMODB_CLEANUP_BOUND_MS - 50);
      expect(elapsed).toBeLessThan(DYNAMODB_CLEANUP_BOUND_MS + 500);
    }
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
  const store = (db: DynamoDBDocumentClient) => createSessionStore(db, TABLES);

  it('asks again for keys DynamoDB left unprocessed, only those, and joins the answers', async () => {
    const { db, calls } = batchClient([
      { Responses: { s: [sessionItem] }, UnprocessedKeys: { u: { Keys: [{ uid: 'u' }], ConsistentRead: true } } },
      { Responses: { u: [{ credit: 9 }] } },
    ]);
    expect(await store(db).findWithBalance(ref, 50)).toEqual({
      session: { uid: 'u', appid: 'wx1234567890abcdef', openid: 'o1', sessionKey: 'k', expiresAt: 100 },
      balance: { credit: 9, seq: 0, unopened: true },
    });
    expect(calls).toHaveLength(2);
    expect(Object.keys(calls[1]!.RequestItems)).toEqual(['u']);
  });

  it('gives up after 3 rounds that leave keys unprocessed, with 503 STORAGE_UNAVAILABLE', async () => {
    const stuck = { UnprocessedKeys: { s: { Keys: [ref], ConsistentRead: true } } };
    const { db, calls } = batchClient([stuck, stuck, stuck, stuck]);
    const error = await store(db)
      .findWithBalance(ref, 50)
      .catch((err: unknown) => err);
    expect((error as AppError).code).toBe('STORAGE_UNAVAILABLE');
    expect(calls).toHaveLength(3);
  });

  it('an expired session is absent, whatever its user', async () => {
    const { db } = batchClient([{ Responses: { s: [sessionItem], u: [{ credit: 9 }] } }]);
    expect(await store(db).findWithBalance(ref, 100)).toBeUndefined();
  });
});

describe('ledger moves (TransactWriteItems)', () => {
  const balance = { credit: 10, seq: 3, unopened: false };
  const move = { entryKey: 'spend:k1', amount: -4, reason: 'spend', atMs: 1_000 };

  it('a move that meets a TransactionConflict (real DynamoDB; DynamoDB Local never gives one) reads the balance again and goes again', async () => {
    const { db, calls } = stubClient([conflict(), undefined]);
    const reads: string[] = [];
    const ledger = createLedgerStore(db, TABLES, {
      findBalance: async (uid) => {
        reads.push(uid);
        return { credit: 8, seq: 4, unopened: false };
      },
    });
    const applied = await ledger.apply('u', balance, () => move);
    expect(reads).toEqual(['u']);
    expect(applied).toMatchObject({ outcome: 'applied', entry: { seq: 5, amount: -4, balance: 4 }, balance: { credit: 4, seq: 5 } });
    const second = (calls[1] as { input: { TransactItems: Record<string, any>[] } }).input.TransactItems;
    expect(second[0]?.Update.ExpressionAttributeValues).toMatchObject({ ':fromSeq': 4, ':credit': 4, ':seq': 5 });
  });

  it('a move that keeps losing the race to other moves of the user gives up after 5 rounds with a retryable 503 CREDIT_BUSY, its pauses short and injected', async () => {
    // Each round another move of the user got in first: the failed condition hands back the user as it is now.
    let seq = 3;
    const lost = () =>
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: [
          { Code: 'ConditionalCheckFailed', Item: { uid: { S: 'u' }, credit: { N: '10' }, ledgerSeq: { N: String(++seq) } } as never },
          { Code: 'None' },
        ],
      });
    const { db, calls } = stubClient(Array.from({ length: 100 }, lost));
    const pauses: number[] = [];
    const ledger = createLedgerStore(
      db,
      TABLES,
      { findBalance: async () => undefined },
      {
        sleep: async (ms) => {
          pauses.push(ms);
        },
      },
    );
    const error = await ledger.apply('u', balance, () => move).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('CREDIT_BUSY');
    expect((error as AppError).message).toMatch(/retry with the same key/);
    expect(STATUS_BY_CODE.CREDIT_BUSY).toBe(503);
    expect(calls).toHaveLength(5);
    expect(pauses).toHaveLength(4);
    // Jittered, and all of them together well under a second: the request is not held.
    for (const ms of pauses) expect(ms).toBeGreaterThanOrEqual(0);
    expect(pauses.reduce((a, b) => a + b, 0)).toBeLessThan(300);
  });

  it("any other storage failure is the contract's storage error at once, and nothing is retried", async () => {
    const throttled = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    const { db, calls } = stubClient([throttled]);
    const error = await createLedgerStore(db, TABLES, { findBalance: async () => undefined })
      .apply('u', balance, () => move)
      .catch((err: unknown) => err);
    expect((error as AppError).code).toBe('STORAGE_UNAVAILABLE');
    expect(calls).toHaveLength(1);
  });

  it('a move below zero is refused without a write, unless its key was used already', async () => {
    const { db, calls } = stubClient([]);
    await expect(
      createLedgerStore(db, TABLES, { findBalance: async () => undefined }).apply('u', balance, () => ({ ...move, amount: -11 })),
    ).rejects.toMatchObject({
      code: 'INSUFFICIENT_CREDIT',
    });
    // One read (is the key used?), no write.
    expect(calls.map((command) => (command as object).constructor.name)).toEqual(['GetCommand']);
  });
});
