import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { createLedgerStore } from '#lib/credit/ledger';
import { STATUS_BY_CODE } from '#lib/http/status';
import { AppError } from '#lib/kernel/errors';
import { conflict, stubClient, TABLES } from '../../support/dynamodb-stub.ts';

describe('ledger moves (TransactWriteItems)', () => {
  const balance = { credit: 10, seq: 3, unopened: false, legacy: false };
  const move = { entryKey: 'spend:k1', amount: -4, reason: 'spend', atMs: 1_000 };

  it('a move that meets a TransactionConflict (real DynamoDB; DynamoDB Local never gives one) reads the balance again and goes again', async () => {
    const { db, calls } = stubClient([conflict(), undefined]);
    const reads: string[] = [];
    const ledger = createLedgerStore(db, TABLES, {
      find: async (uid) => {
        reads.push(uid);
        return { credit: 8, seq: 4, unopened: false, legacy: false };
      },
    });
    const applied = await ledger.apply('u', balance, () => move);
    expect(reads).toEqual(['u']);
    expect(applied).toMatchObject({ outcome: 'applied', entry: { seq: 5, amount: -4, balance: 4 }, balance: { credit: 4, seq: 5 } });
    const second = (calls[1] as { input: { TransactItems: Record<string, any>[] } }).input.TransactItems;
    expect(second[0]?.Update.ExpressionAttributeValues).toMatchObject({ ':fromSeq': 4, ':credit': 4, ':seq': 5 });
    // Credit's own item in credit's own table: the ledger's partition of the user, never the user item.
    expect(second[0]?.Update).toMatchObject({ TableName: TABLES.ledger, Key: { uid: 'u', entryKey: '#balance' } });
  });

  it('a user whose balance is still on its user item (stored before the split) gets its balance item with its first move, and an opening entry if it had no ledger', async () => {
    const { db, calls } = stubClient([undefined]);
    const legacy = { credit: 30, seq: 0, unopened: true, legacy: true };
    const applied = await createLedgerStore(db, TABLES, { find: async () => undefined }).apply('u', legacy, () => move);
    expect(applied).toMatchObject({ outcome: 'applied', entry: { seq: 2, amount: -4, balance: 26 }, balance: { credit: 26, seq: 2, legacy: false } });
    const items = (calls[0] as { input: { TransactItems: Record<string, any>[] } }).input.TransactItems;
    expect(items[0]?.Put).toMatchObject({
      TableName: TABLES.ledger,
      Item: { uid: 'u', entryKey: '#balance', credit: 26, ledgerSeq: 2 },
      ConditionExpression: 'attribute_not_exists(entryKey)',
    });
    expect(items.map((item) => item.Put?.Item?.entryKey ?? item.Update?.Key?.entryKey)).toEqual(['#balance', 'spend:k1', 'opening']);
    // No write names the users table: a credit role never writes a user item.
    expect(items.map((item) => (item.Put ?? item.Update).TableName)).toEqual([TABLES.ledger, TABLES.ledger, TABLES.ledger]);
  });

  it('two first moves of such a user race: the loser is handed the balance item the winner wrote and goes again from it', async () => {
    const won = new TransactionCanceledException({
      message: 'Transaction cancelled',
      $metadata: {},
      CancellationReasons: [
        {
          Code: 'ConditionalCheckFailed',
          Item: { uid: { S: 'u' }, entryKey: { S: '#balance' }, credit: { N: '26' }, ledgerSeq: { N: '2' } } as never,
        },
        { Code: 'None' },
      ],
    });
    const { db, calls } = stubClient([won, undefined]);
    const legacy = { credit: 30, seq: 0, unopened: true, legacy: true };
    const applied = await createLedgerStore(db, TABLES, { find: async () => undefined }, { sleep: async () => undefined }).apply('u', legacy, () => ({
      ...move,
      entryKey: 'spend:k2',
    }));
    expect(applied).toMatchObject({ outcome: 'applied', entry: { seq: 3, balance: 22 }, balance: { credit: 22, seq: 3 } });
    const second = (calls[1] as { input: { TransactItems: Record<string, any>[] } }).input.TransactItems;
    expect(second[0]?.Update).toMatchObject({ ConditionExpression: 'ledgerSeq = :fromSeq', ExpressionAttributeValues: { ':fromSeq': 2 } });
    expect(second).toHaveLength(2);
  });

  it('a move that keeps losing the race to other moves of the user gives up after 5 rounds with a retryable 503 CREDIT_BUSY, its pauses short and injected', async () => {
    // Each round another move of the user got in first: the failed condition hands back the user as it is now.
    let seq = 3;
    const lost = () =>
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: [
          {
            Code: 'ConditionalCheckFailed',
            Item: { uid: { S: 'u' }, entryKey: { S: '#balance' }, credit: { N: '10' }, ledgerSeq: { N: String(++seq) } } as never,
          },
          { Code: 'None' },
        ],
      });
    const { db, calls } = stubClient(Array.from({ length: 100 }, lost));
    const pauses: number[] = [];
    const ledger = createLedgerStore(
      db,
      TABLES,
      { find: async () => undefined },
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
    const error = await createLedgerStore(db, TABLES, { find: async () => undefined })
      .apply('u', balance, () => move)
      .catch((err: unknown) => err);
    expect((error as AppError).code).toBe('STORAGE_UNAVAILABLE');
    expect(calls).toHaveLength(1);
  });

  it('a move below zero is refused without a write, unless its key was used already', async () => {
    const { db, calls } = stubClient([]);
    await expect(
      createLedgerStore(db, TABLES, { find: async () => undefined }).apply('u', balance, () => ({ ...move, amount: -11 })),
    ).rejects.toMatchObject({
      code: 'INSUFFICIENT_CREDIT',
    });
    // One read (is the key used?), no write.
    expect(calls.map((command) => (command as object).constructor.name)).toEqual(['GetCommand']);
  });
});
