import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import { guard } from '#lib/aws/dynamodb-errors';
import { definedOnly, parseItem } from '#lib/aws/items';
import type { TableNames } from '#lib/aws/tables';
import type { Timing } from '#lib/kernel/retry';
import type { SessionRead } from '#lib/session/guard';
import { findSessionWithItem } from '#lib/session/session-store';
import { userKey } from '#lib/session/users';

/**
 * A user's balance is credit's own item, in credit's own table: the ledger's partition of that user, under a key no
 * entry can have. Every move writes it with its entry in one transaction (conditioned on the sequence number it
 * was computed from), and a lost race hands it back whole: it holds nothing but the balance, so no role sees or
 * writes more than credit's data. Entries carry `seq`; this item does not, so the `bySeq` index never lists it.
 */
export const BALANCE_ENTRY_KEY = '#balance';
export const balanceKey = (uid: string) => ({ uid, entryKey: BALANCE_ENTRY_KEY });

const count = v.pipe(v.number(), v.integer(), v.minValue(0));

const BalanceItem = v.object({
  credit: count,
  ledgerSeq: count,
  checkinDay: v.optional(v.string()),
  checkinStreak: v.optional(count),
});

/**
 * Where the balance lived before (users stored before the balance had its own item): on the user item, with
 * `ledgerSeq` absent for a user from before the ledger. Read only while a user has no balance item; its first move
 * writes the item, and from then on these attributes are never read again (a lazy migration: README, Data model).
 */
const LegacyBalanceItem = v.object({
  credit: count,
  ledgerSeq: v.optional(count),
  checkinDay: v.optional(v.string()),
  checkinStreak: v.optional(count),
});
/** The only attributes credit may read of a user item (the IAM read fence lists the same, with the key). */
export const LEGACY_BALANCE_ATTRIBUTES = ['credit', 'ledgerSeq', 'checkinDay', 'checkinStreak'] as const;
export const legacyBalanceReadAttributes = ['uid', ...LEGACY_BALANCE_ATTRIBUTES];

export interface Balance {
  credit: number;
  /** The sequence number of the user's last ledger entry: 0 before the first. */
  seq: number;
  /** A user from before the ledger: its credit has no entries yet (its first move writes an opening entry). */
  unopened: boolean;
  /** Read from the user item (no balance item yet): the first move creates the balance item. */
  legacy: boolean;
  /** The last check-in's day (YYYY-MM-DD in the check-in time zone) and the streak it made. */
  checkin?: { day: string; streak: number };
}

const checkinOf = (day: string | undefined, streak: number | undefined) => (day !== undefined ? { checkin: { day, streak: streak ?? 1 } } : {});

/** A balance item as stored. */
export function balanceOf(item: Record<string, unknown>): Balance {
  const { credit, ledgerSeq, checkinDay, checkinStreak } = parseItem('balance', BalanceItem, item);
  return { credit, seq: ledgerSeq, unopened: false, legacy: false, ...checkinOf(checkinDay, checkinStreak) };
}

/** A balance as the user item held it, before the balance had its own item. */
export function legacyBalanceOf(item: Record<string, unknown>): Balance {
  const { credit, ledgerSeq, checkinDay, checkinStreak } = parseItem('user', LegacyBalanceItem, item);
  return { credit, seq: ledgerSeq ?? 0, unopened: ledgerSeq === undefined, legacy: true, ...checkinOf(checkinDay, checkinStreak) };
}

/** A new user's balance item: its sign-up grant (0 held back) as the credit of its first entry. */
export function newBalancePut(table: string, uid: string, credit: number, riskRank: number | undefined) {
  return {
    Put: {
      TableName: table,
      Item: definedOnly({ ...balanceKey(uid), credit, ledgerSeq: 1, signupRiskRank: riskRank }),
      ConditionExpression: 'attribute_not_exists(entryKey)',
    },
  };
}

/**
 * A move's part for the balance: the new credit and sequence number (and check-in), conditioned on the balance
 * being the one the move was computed from. Never read-modify-write: a balance moved meanwhile fails the condition,
 * and the move is computed again from the item the failure hands back. A user whose balance is still on its user
 * item gets its balance item now, on the condition that none was written meanwhile.
 */
export function balanceWrite(
  table: string,
  uid: string,
  from: Balance,
  to: { credit: number; seq: number; checkin?: { day: string; streak: number } | undefined },
) {
  // The balance as it is now, when it moved meanwhile: the move is computed again without another read.
  const returnOnFailure = { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const };
  const checkin = to.checkin ?? from.checkin;
  if (from.legacy) {
    return {
      Put: {
        TableName: table,
        Item: definedOnly({ ...balanceKey(uid), credit: to.credit, ledgerSeq: to.seq, checkinDay: checkin?.day, checkinStreak: checkin?.streak }),
        ConditionExpression: 'attribute_not_exists(entryKey)',
        ...returnOnFailure,
      },
    };
  }
  return {
    Update: {
      TableName: table,
      Key: balanceKey(uid),
      UpdateExpression: `SET credit = :credit, ledgerSeq = :seq${to.checkin ? ', checkinDay = :day, checkinStreak = :streak' : ''}`,
      ConditionExpression: 'ledgerSeq = :fromSeq',
      ExpressionAttributeValues: definedOnly({
        ':credit': to.credit,
        ':seq': to.seq,
        ':day': to.checkin?.day,
        ':streak': to.checkin?.streak,
        ':fromSeq': from.seq,
      }),
      ...returnOnFailure,
    },
  };
}

export interface BalanceStore {
  /** The user's balance: its balance item, else (a user stored before it had one) what its user item holds; undefined without a user. */
  find(uid: string): Promise<Balance | undefined>;
}

export function createBalanceStore(db: DynamoDBDocumentClient, tables: Pick<TableNames, 'users' | 'ledger'>): BalanceStore {
  return {
    async find(uid) {
      const { Item } = await guard(db.send(new GetCommand({ TableName: tables.ledger, Key: balanceKey(uid), ConsistentRead: true })));
      return Item ? balanceOf(Item) : findLegacyBalance(db, tables.users, uid);
    },
  };
}

/** Only the balance's attributes of the user item (the role's read fence allows no others). */
async function findLegacyBalance(db: DynamoDBDocumentClient, usersTable: string, uid: string): Promise<Balance | undefined> {
  const { Item } = await guard(
    db.send(
      new GetCommand({ TableName: usersTable, Key: userKey(uid), ConsistentRead: true, ProjectionExpression: LEGACY_BALANCE_ATTRIBUTES.join(', ') }),
    ),
  );
  return Item && Item.credit !== undefined ? legacyBalanceOf(Item) : undefined;
}

/**
 * The guard's read for the routes that move credit: the live session and its user's balance item in one round-trip
 * (one BatchGetItem of the sessions and ledger tables: the token names its user). A user still without a balance
 * item costs one more read, of its user item's balance attributes, until its first move writes the item.
 */
export const sessionWithBalance =
  (db: DynamoDBDocumentClient, tables: Pick<TableNames, 'sessions' | 'users' | 'ledger'>, timing: Timing = {}): SessionRead<Balance> =>
  async (ref, nowSeconds) => {
    const found = await findSessionWithItem(db, tables.sessions, ref, nowSeconds, { table: tables.ledger, key: balanceKey(ref.uid) }, timing);
    if (!found) return undefined;
    const balance = found.item ? balanceOf(found.item) : await findLegacyBalance(db, tables.users, ref.uid);
    return { session: found.session, user: balance };
  };
