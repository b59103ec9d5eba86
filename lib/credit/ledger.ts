import { type DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as v from 'valibot';
import { cancellationReasons, conditionFailed, guard, storageError } from '#lib/aws/dynamodb-errors';
import { parseItem } from '#lib/aws/items';
import type { TableNames } from '#lib/aws/tables';
import { isTransactionConflict } from '#lib/aws/transactions';
import { type Balance, type BalanceStore, balanceOf, balanceWrite } from '#lib/credit/balance';
import { AppError } from '#lib/kernel/errors';
import { type BackoffPolicy, pauseBeforeRetry, type Timing } from '#lib/kernel/retry';

/**
 * A user's ledger: every move of its credit, append-only, under the user and by the move's idempotency
 * key (a key is new, or its entry is the answer to a retry). The `bySeq` local index orders them.
 */
export const entryKey = (uid: string, key: string) => ({ uid, entryKey: key });
const BY_SEQ = 'bySeq';

/** The keys entries are written under: one namespace per kind of caller, so a client's key never meets a server's. */
export const ENTRY_KEYS = {
  signup: 'signup',
  /** For a user from before the ledger: its credit at its first move. */
  opening: 'opening',
  spend: (key: string) => `spend:${key}`,
  checkin: (day: string) => `checkin:${day}`,
  grant: (key: string) => `grant:${key}`,
} as const;

const int = v.pipe(v.number(), v.integer());
const EntryItem = v.object({
  uid: v.string(),
  entryKey: v.string(),
  seq: v.pipe(int, v.minValue(1)),
  amount: int,
  balance: v.pipe(int, v.minValue(0)),
  reason: v.string(),
  atMs: int,
});
export type EntryItem = v.InferOutput<typeof EntryItem>;

/** An entry as the API shows it. */
export interface Entry {
  /** The entry's sequence number in the user's ledger: 1 is the sign-up grant. */
  id: string;
  amount: number;
  /** The balance after it. */
  balance: number;
  reason: string;
  /** ISO 8601, UTC. */
  at: string;
}

export const toEntry = (item: EntryItem): Entry => ({
  id: String(item.seq),
  amount: item.amount,
  balance: item.balance,
  reason: item.reason,
  at: new Date(item.atMs).toISOString(),
});

/** A move of a user's credit, computed from its current balance by a plan (see LedgerStore.apply). */
export interface Move {
  entryKey: string;
  /** Positive earns, negative spends; never below a zero balance. */
  amount: number;
  reason: string;
  atMs: number;
  /** A check-in also sets the user's check-in day and streak. */
  checkin?: { day: string; streak: number };
}

/** What a plan makes of the user's current balance: a move, or nothing to do (a check-in done already). */
export type Plan = Move | { settled: true };

export type Applied =
  /** Written now: the entry and the balance after it. */
  | { outcome: 'applied'; entry: EntryItem; balance: Balance }
  /** The key was used already: its entry, as first written. */
  | { outcome: 'exists'; entry: EntryItem }
  /** The plan had nothing to do, on this balance. */
  | { outcome: 'settled'; balance: Balance };

export interface LedgerStore {
  /**
   * Moves a user's credit: the plan is computed from `balance` (as read with the session), then the new balance
   * and the entry are written in one transaction, conditioned on the balance being unchanged and on the key
   * being new. A user moved meanwhile fails the condition: the plan is computed again from the balance the
   * failure hands back. A move below zero is refused (INSUFFICIENT_CREDIT) unless its key was used already.
   * Throws USER_NOT_FOUND when the user is gone.
   */
  apply(uid: string, balance: Balance, plan: (balance: Balance) => Plan): Promise<Applied>;
  /** The user's entries, newest first: up to `limit`, before the sequence number `beforeSeq` (all when absent). */
  history(uid: string, page: { limit: number; beforeSeq?: number | undefined }): Promise<{ entries: EntryItem[]; more: boolean }>;
}

/** A move below zero gets this. */
export const insufficientCredit = (): AppError => new AppError('INSUFFICIENT_CREDIT', 'Not enough credit: nothing was spent');

/**
 * Rounds of one move before it gives up with CREDIT_BUSY (the client retries with the same key). Each lost round
 * means another move of the same user got in: a few rounds absorb a double tap, and a crowd of one user's
 * simultaneous moves is answered within a fraction of a second instead of holding each request (and a share of
 * the function's reserved concurrency) for seconds.
 */
export const MAX_MOVE_ROUNDS = 5;
/**
 * Full jitter up to 10 * 2^round ms, capped: at most 20 + 40 + 80 + 100 = 240 ms of pauses in all; a pause is
 * taken only with 50 ms of the request left after it (lib/kernel/retry.ts).
 */
const MOVE_BACKOFF: BackoffPolicy = { attempts: MAX_MOVE_ROUNDS, baseMs: 10, capMs: 100, reserveMs: 50 };

/** Contention on one user's credit that outlasted the rounds (or the request's time): retryable, with the same key. */
export const creditBusy = (rounds: number, cause: unknown): AppError =>
  new AppError(
    'CREDIT_BUSY',
    'Other moves of this credit are under way at the same moment: retry with the same key',
    { contention: rounds },
    { cause },
  );

/** The pauses between rounds and their jitter (lib/kernel/retry.ts): the real ones by default; tests record them. */
export type LedgerOptions = Timing;

/** The sign-up grant: the new user's first entry, in the first login's transaction (lib/session/session-store.ts). */
export function signupEntryPut(table: string, uid: string, amount: number, atMs: number) {
  return entryPut(table, { uid, entryKey: ENTRY_KEYS.signup, seq: 1, amount, balance: amount, reason: 'signup', atMs });
}

function entryPut(table: string, item: EntryItem) {
  return {
    Put: {
      TableName: table,
      Item: item,
      ConditionExpression: 'attribute_not_exists(entryKey)',
      // The first entry under this key, when there is one: the retry's answer, without another read.
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    },
  };
}

export function createLedgerStore(
  db: DynamoDBDocumentClient,
  tables: Pick<TableNames, 'ledger'>,
  balances: BalanceStore,
  timing: LedgerOptions = {},
): LedgerStore {
  const findEntry = async (uid: string, key: string) => {
    const { Item } = await guard(db.send(new GetCommand({ TableName: tables.ledger, Key: entryKey(uid, key), ConsistentRead: true })));
    return Item ? parseItem('ledger entry', EntryItem, Item) : undefined;
  };
  const mustExist = (balance: Balance | undefined): Balance => {
    if (!balance) throw new AppError('USER_NOT_FOUND', 'No such user: it has never logged in to this mini-program');
    return balance;
  };

  return {
    async apply(uid, start, plan) {
      let balance = start;
      for (let attempt = 1; ; attempt++) {
        const move = plan(balance);
        if ('settled' in move) return { outcome: 'settled', balance };
        const credit = balance.credit + move.amount;
        if (credit < 0) {
          // Below zero: refused, unless this is a retry of a move that went through (its entry answers it).
          const entry = await findEntry(uid, move.entryKey);
          if (entry) return { outcome: 'exists', entry };
          throw insufficientCredit();
        }
        // A user from before the ledger gets an opening entry for the credit it has, so its entries sum to its balance.
        const opening: EntryItem[] = balance.unopened
          ? [{ uid, entryKey: ENTRY_KEYS.opening, seq: 1, amount: balance.credit, balance: balance.credit, reason: 'opening', atMs: move.atMs }]
          : [];
        const seq = balance.seq + opening.length + 1;
        const entry: EntryItem = { uid, entryKey: move.entryKey, seq, amount: move.amount, balance: credit, reason: move.reason, atMs: move.atMs };
        const to = { credit, seq, ...(move.checkin ? { checkin: move.checkin } : {}) };
        try {
          await db.send(
            new TransactWriteCommand({
              TransactItems: [
                balanceWrite(tables.ledger, uid, balance, to),
                entryPut(tables.ledger, entry),
                ...opening.map((item) => entryPut(tables.ledger, item)),
              ],
            }),
          );
          return {
            outcome: 'applied',
            entry,
            balance: {
              credit,
              seq,
              unopened: false,
              legacy: false,
              ...(to.checkin ? { checkin: to.checkin } : balance.checkin ? { checkin: balance.checkin } : {}),
            },
          };
        } catch (err) {
          const reasons = cancellationReasons(err);
          // The key was used already: its first entry is the answer (checked first, whatever else failed).
          const existing = conditionFailed(err, 1) ? reasons[1]?.Item : undefined;
          if (existing) return { outcome: 'exists', entry: parseItem('ledger entry', EntryItem, unmarshall(existing)) };
          const moved = conditionFailed(err, 0);
          if (!moved && !isTransactionConflict(err)) throw storageError(err);
          // Full jitter: a crowd of writers on one user spreads out instead of retrying in step. Contention that
          // outlasted the rounds (or the request's time) is answered at once, to retry with the same key, never
          // with a wrong answer: nothing was written by this request.
          if (!(await pauseBeforeRetry(MOVE_BACKOFF, attempt, timing))) throw creditBusy(attempt, err);
          // Moved meanwhile (or gone): computed again from the user as the failure handed it back. Held by another
          // transaction (a conflict, nothing decided): read where it left the balance.
          const now = moved ? reasons[0]?.Item : undefined;
          balance = mustExist(moved ? (now ? balanceOf(unmarshall(now)) : undefined) : await balances.find(uid));
        }
      }
    },

    async history(uid, { limit, beforeSeq }) {
      // Strongly consistent (a local index allows it): a move made a moment ago is listed. One more than asked, to know whether there are more.
      const { Items = [] } = await guard(
        db.send(
          new QueryCommand({
            TableName: tables.ledger,
            IndexName: BY_SEQ,
            KeyConditionExpression: beforeSeq === undefined ? 'uid = :uid' : 'uid = :uid AND seq < :before',
            ExpressionAttributeValues: { ':uid': uid, ...(beforeSeq === undefined ? {} : { ':before': beforeSeq }) },
            ScanIndexForward: false,
            ConsistentRead: true,
            Limit: limit + 1,
          }),
        ),
      );
      const entries = Items.slice(0, limit).map((item) => parseItem('ledger entry', EntryItem, item));
      return { entries, more: Items.length > limit };
    },
  };
}
