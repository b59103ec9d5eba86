import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { AppError } from '#lib/platform/errors';
import { DYNAMODB_CLEANUP_BOUND_MS } from '#lib/store/client';
import { createLoginCodeStore } from '#lib/store/login-codes';
import { createSessionStore } from '#lib/store/sessions';

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

const session = { uid: 'u', appid: 'wx1234567890abcdef', tokenHash: 'h', openid: 'o1', sessionKey: 'k', createdAt: 1, expiresAt: 2 };

describe('login transaction', () => {
  it('retries a transaction that lost a race with another login of the same user', async () => {
    const { db, calls } = stubClient([conflict(), conflict(), undefined]);
    await createSessionStore(db, { sessions: 's', users: 'u', logins: 'l' }).create(session, 100);
    expect(calls).toHaveLength(3);
  });

  it('gives up after 6 conflicting attempts with a 503-class error', async () => {
    const { db, calls } = stubClient(Array.from({ length: 6 }, conflict));
    const error = await createSessionStore(db, { sessions: 's', users: 'u', logins: 'l' })
      .create(session, 100)
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
    await expect(createSessionStore(db, { sessions: 's', users: 'u', logins: 'l' }).create(session, 100)).rejects.toBeInstanceOf(AppError);
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
    expect(await createSessionStore(db, { sessions: 's', users: 'u', logins: 'l' }).create(session, 100, { replayed })).toBe(outcome);
    expect(calls).toHaveLength(1);
  });

  it('writes the session and the create-if-new user update in one transaction, never setting credit outright', async () => {
    const { db, calls } = stubClient([undefined]);
    await createSessionStore(db, { sessions: 's', users: 'u', logins: 'l' }).create({ ...session, unionid: 'u1' }, 100);
    const input = (calls[0] as { input: { TransactItems: Record<string, any>[] } }).input;
    expect(input.TransactItems).toHaveLength(2);
    expect(input.TransactItems[0]?.Put.TableName).toBe('s');
    const update = input.TransactItems[1]?.Update;
    expect(update.TableName).toBe('u');
    expect(update.UpdateExpression).toContain('credit = if_not_exists(credit, :initialCredit)');
    expect(update.UpdateExpression).toContain('unionid = :unionid');
    // unionid is the user's (indexed, sparse), never the session's.
    expect(input.TransactItems[0]?.Put.Item).not.toHaveProperty('unionid');
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
  const store = (db: DynamoDBDocumentClient) => createSessionStore(db, { sessions: 's', users: 'u', logins: 'l' });

  it('asks again for keys DynamoDB left unprocessed, only those, and joins the answers', async () => {
    const { db, calls } = batchClient([
      { Responses: { s: [sessionItem] }, UnprocessedKeys: { u: { Keys: [{ uid: 'u' }], ConsistentRead: true } } },
      { Responses: { u: [{ credit: 9 }] } },
    ]);
    expect(await store(db).findWithCredit(ref, 50)).toEqual({
      session: { uid: 'u', appid: 'wx1234567890abcdef', openid: 'o1', sessionKey: 'k', expiresAt: 100 },
      credit: 9,
    });
    expect(calls).toHaveLength(2);
    expect(Object.keys(calls[1]!.RequestItems)).toEqual(['u']);
  });

  it('gives up after 3 rounds that leave keys unprocessed, with 503 STORAGE_UNAVAILABLE', async () => {
    const stuck = { UnprocessedKeys: { s: { Keys: [ref], ConsistentRead: true } } };
    const { db, calls } = batchClient([stuck, stuck, stuck, stuck]);
    const error = await store(db)
      .findWithCredit(ref, 50)
      .catch((err: unknown) => err);
    expect((error as AppError).code).toBe('STORAGE_UNAVAILABLE');
    expect(calls).toHaveLength(3);
  });

  it('an expired session is absent, whatever its user', async () => {
    const { db } = batchClient([{ Responses: { s: [sessionItem], u: [{ credit: 9 }] } }]);
    expect(await store(db).findWithCredit(ref, 100)).toBeUndefined();
  });
});
