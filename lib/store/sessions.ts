import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import type { TableNames } from '#lib/platform/config';
import { remainingMs } from '#lib/platform/deadline';
import { sleep } from '#lib/platform/time';
import { errorName, guard, storageError } from '#lib/store/errors';
import { definedOnly, parseItem } from '#lib/store/items';
import { type ExchangedCode, loginCodeDoneUpdate, loginCodeReplayUpdate, type ReplayedCode } from '#lib/store/login-codes';
import { userLoginUpdate } from '#lib/store/users';

/** A session, keyed by the hash of its token (the token itself is never stored). */
export const sessionKey = (tokenHash: string) => ({ tokenHash });
/** The index that lists a user's sessions, for logging out everywhere. */
const BY_OPENID = 'byOpenid';

export interface Session {
  openid: string;
  sessionKey: string;
  unionid?: string;
  /** Epoch seconds. */
  expiresAt: number;
}

export interface NewSession extends Session {
  tokenHash: string;
  /** Epoch seconds. */
  createdAt: number;
}

const SessionItem = v.object({
  openid: v.string(),
  sessionKey: v.string(),
  unionid: v.optional(v.string()),
  expiresAt: v.number(),
});

/** The wx.login() code a session comes from: its exchange at WeChat, or a retry of a code exchanged already. */
export type SessionSource = { exchanged: ExchangedCode } | { replayed: ReplayedCode };

/**
 * Why a replay got no session: the code has given all the sessions it may (or its
 * window has just ended), or the user has logged out everywhere since its exchange.
 */
export type ReplayRefusal = 'code used up' | 'logged out everywhere';

export interface SessionStore {
  /**
   * Writes the session, creates its user (with the initial credit) if new, and
   * marks the code it came from as done (or counts its replay), in one transaction.
   */
  create(session: NewSession, initialCredit: number, source?: SessionSource): Promise<'created' | ReplayRefusal>;
  /** The live session for a token hash; expired ones are absent even before TTL deletes them. */
  find(tokenHash: string, nowSeconds: number): Promise<Session | undefined>;
  /** Deletes one session, live or expired (tidy); true if it was live, so an ended one counts as 0. */
  revoke(tokenHash: string, nowSeconds: number): Promise<boolean>;
  /**
   * Deletes every session of a user that its index lists (eventually consistent: one made a
   * moment ago may be missing); how many live ones this call deleted.
   */
  revokeAll(openid: string, nowSeconds: number): Promise<number>;
}

/** Attempts at a login transaction that lost a race with another login of the same user. */
const TRANSACTION_ATTEMPTS = 6;

export function createSessionStore(db: DynamoDBDocumentClient, tables: Pick<TableNames, 'sessions' | 'users' | 'logins'>): SessionStore {
  /**
   * The deleted item, or undefined if there was none. Conditional, so that two deletes of one session at
   * once (logout?all=1 ends the caller's own by its key and through the index) cannot both be handed the
   * old item and count it twice; the one that finds it gone gets a failed condition instead.
   */
  const deleteSession = async (tokenHash: string): Promise<Record<string, unknown> | undefined> => {
    try {
      const { Attributes } = await db.send(
        new DeleteCommand({
          TableName: tables.sessions,
          Key: sessionKey(tokenHash),
          ConditionExpression: 'attribute_exists(tokenHash)',
          ReturnValues: 'ALL_OLD',
        }),
      );
      return Attributes;
    } catch (err) {
      if (errorName(err) === 'ConditionalCheckFailedException') return undefined;
      throw err;
    }
  };
  /** An expired item that TTL has not removed yet was already ended: deleting it is tidying, not revoking. */
  const wasLive = (old: Record<string, unknown> | undefined, nowSeconds: number) => typeof old?.expiresAt === 'number' && old.expiresAt > nowSeconds;

  return {
    async create(session, initialCredit, source) {
      const replayed = source && 'replayed' in source ? source.replayed : undefined;
      const user = userLoginUpdate(tables.users, {
        openid: session.openid,
        unionid: session.unionid,
        nowSeconds: session.createdAt,
        initialCredit,
        ...(replayed ? { replayOfCodeExchangedAtMs: replayed.exchangedAtMs } : {}),
      });
      const code =
        source &&
        ('exchanged' in source
          ? loginCodeDoneUpdate(tables.logins, source.exchanged, session)
          : loginCodeReplayUpdate(tables.logins, source.replayed, session.createdAt));
      // The code's part first and the user's last: a replay's refusal is told by the position of the failed condition.
      const write = new TransactWriteCommand({
        TransactItems: [...(code ? [code] : []), { Put: { TableName: tables.sessions, Item: sessionItem(session) } }, user],
      });
      for (let attempt = 1; ; attempt++) {
        try {
          await db.send(write);
          return 'created';
        } catch (err) {
          const failed = replayed ? failedConditions(err) : [];
          if (failed[0]) return 'code used up';
          if (failed[2]) return 'logged out everywhere';
          // Another login of the same user holds the item: back off with jitter and go again, while time is left.
          const backoffMs = Math.random() * 20 * 2 ** attempt;
          if (!isTransactionConflict(err) || attempt === TRANSACTION_ATTEMPTS || remainingMs() <= backoffMs) throw storageError(err);
          await sleep(backoffMs);
        }
      }
    },

    async find(tokenHash, nowSeconds) {
      // Strongly consistent: a client checks its login right after logging in.
      const { Item } = await guard(db.send(new GetCommand({ TableName: tables.sessions, Key: sessionKey(tokenHash), ConsistentRead: true })));
      if (!Item) return undefined;
      const session = parseItem('session', SessionItem, Item);
      return session.expiresAt > nowSeconds ? session : undefined;
    },

    async revoke(tokenHash, nowSeconds) {
      return wasLive(await guard(deleteSession(tokenHash)), nowSeconds);
    },

    async revokeAll(openid, nowSeconds) {
      let revoked = 0;
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await guard(
          db.send(
            new QueryCommand({
              TableName: tables.sessions,
              IndexName: BY_OPENID,
              KeyConditionExpression: 'openid = :openid',
              ExpressionAttributeValues: { ':openid': openid },
              ExclusiveStartKey,
            }),
          ),
        );
        // A user has a handful of sessions: parallel deletes beat BatchWriteItem's extra permission and retry handling.
        const deleted = await guard(Promise.all((page.Items ?? []).map((item) => deleteSession(String(item.tokenHash)))));
        // Only what this call deleted: a session someone else deleted meanwhile is not counted twice.
        revoked += deleted.filter((old) => wasLive(old, nowSeconds)).length;
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return revoked;
    },
  };
}

function sessionItem(session: NewSession): Record<string, unknown> {
  return definedOnly({
    ...sessionKey(session.tokenHash),
    openid: session.openid,
    sessionKey: session.sessionKey,
    unionid: session.unionid,
    createdAt: session.createdAt,
    expiresAt: session.expiresAt,
  });
}

const cancellationReasons = (err: unknown): { Code?: string }[] =>
  errorName(err) === 'TransactionCanceledException' ? ((err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []) : [];

function isTransactionConflict(err: unknown): boolean {
  return cancellationReasons(err).some((reason) => reason.Code === 'TransactionConflict');
}

/** Per item of a cancelled transaction, whether its condition failed. */
const failedConditions = (err: unknown): boolean[] => cancellationReasons(err).map((reason) => reason.Code === 'ConditionalCheckFailed');
