import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { expect } from 'vitest';
import type { TableNames } from '../../local/tables.ts';
import { scanAll, scanUsers } from './invoke.ts';

/**
 * The ledger's invariant, over every user in the tables: the balance (its balance item, or what a user stored
 * before the balance had its own item still holds) is the sum of the user's entries and never below zero; the
 * entries are numbered 1..n with no gap or repeat (n is the user's ledgerSeq), and each entry's balance is the sum
 * of the entries up to it.
 */
export async function expectBalancesAreSums(admin: DynamoDBClient, tables: Pick<TableNames, 'users' | 'ledger'>): Promise<void> {
  const entries = (await scanAll(admin, tables.ledger)).filter((item) => item.entryKey !== '#balance');
  for (const user of await scanUsers(admin, tables)) {
    const where = `user ${String(user.uid)}`;
    const own = entries.filter((entry) => entry.uid === user.uid).sort((a, b) => Number(a.seq) - Number(b.seq));
    expect(user.credit, where).toBe(own.reduce((sum, entry) => sum + Number(entry.amount), 0));
    expect(Number(user.credit), where).toBeGreaterThanOrEqual(0);
    expect(user.ledgerSeq ?? 0, where).toBe(own.length);
    let running = 0;
    own.forEach((entry, i) => {
      running += Number(entry.amount);
      expect(entry.seq, where).toBe(i + 1);
      expect(entry.balance, where).toBe(running);
    });
  }
}

/** Sets a user's credit behind the API's back (as if it had spent some), where credit keeps it: its balance item. */
export async function setStoredCredit(admin: DynamoDBClient, tables: Pick<TableNames, 'ledger'>, uid: string, credit: number): Promise<void> {
  await admin.send(
    new UpdateItemCommand({
      TableName: tables.ledger,
      Key: { uid: { S: uid }, entryKey: { S: '#balance' } },
      UpdateExpression: 'SET credit = :c',
      ConditionExpression: 'attribute_exists(entryKey)',
      ExpressionAttributeValues: { ':c': { N: String(credit) } },
    }),
  );
}
