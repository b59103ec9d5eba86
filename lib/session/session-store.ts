import { BatchGetCommand, DeleteCommand, type DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import { conditionFailed, guard, storageError } from '#lib/aws/dynamodb-errors';
import { definedOnly, parseItem } from '#lib/aws/items';
import type { TableNames } from '#lib/aws/tables';
import { isTransactionConflict } from '#lib/aws/transactions';
import { AppError } from '#lib/kernel/errors';
import type { LogFields } from '#lib/kernel/log';
import { type BackoffPolicy, pauseBeforeRetry, type Timing } from '#lib/kernel/retry';
import { type ExchangedCode, loginCodeDoneUpdate, loginCodeReplayUpdate, type ReplayedCode } from '#lib/session/login-codes';
import type { SessionRef } from '#lib/session/token';
import { newUserLoginUpdate, returningUserLoginUpdate, type UserLogin, userKey } from '#lib/session/users';

/**
 * A session, under its user (the user's key is the partition, so one strongly consistent Query lists
 * a user's sessions) and by the hash of its token (the token itself is never stored).
 */
export const sessionKey = ({ uid, tokenHash }: SessionRef) => ({ uid, tokenHash });

export interface Session {
  /** The user's key (lib/session/token.ts userId): its app and openid, hashed. */
  uid: string;
  /** The mini-program the session was made in: every request in it works in that app's scope. */
  appid: string;
  openid: string;
  sessionKey: string;
  /** Epoch seconds. */
  expiresAt: number;
}

export interface NewSession extends Session {
  tokenHash: string;
  /** Kept on the user only (for finding one person's accounts across apps), never on the session. */
  unionid?: string;
  /** Epoch seconds. */
  createdAt: number;
}

const SessionItem = v.object({
  uid: v.string(),
  appid: v.string(),
  openid: v.string(),
  sessionKey: v.string(),
  expiresAt: v.number(),
});

/** The wx.login() code a session comes from: its exchange at WeChat, or a retry of a code exchanged already. */
export type SessionSource = { exchanged: ExchangedCode } | { replayed: ReplayedCode };

/**
 * Why a replay got no session: the code has given all the sessions it may (or its
 * window has just ended), or the user has logged out everywhere since its exchange.
 */
export type ReplayRefusal = 'code used up' | 'logged out everywhere';

/**
 * What a new user starts with besides its login, from the features that own it (credit's sign-up grant,
 * wired in lib/wiring.ts): attributes of its own on the new user item, and items of its own written in the
 * same transaction. The session feature writes them and knows nothing of what they mean.
 */
export interface NewUserStart {
  attributes: Record<string, string | number>;
  items: Record<string, unknown>[];
  /** What the request's log line says of it (never the openid). */
  logFields?: LogFields;
}

/** Who the new user is, for the features that decide what it starts with. */
export interface NewUser {
  uid: string;
  appid: string;
  openid: string;
  /** The client's IP, as API Gateway saw it (WeChat's risk check asks with it). */
  clientIp: string | undefined;
  createdAtMs: number;
}

/** Decides a new user's start: wired from the features that own a new user's data (lib/wiring.ts). */
export type StartNewUser = (user: NewUser) => Promise<NewUserStart>;

export interface SessionStore {
  /**
   * Writes the session, marks the code it came from as done (or counts its replay), and updates its
   * user, in one transaction. A user that does not exist yet is created instead, with what
   * `startNewUser()` (asked once) says it starts with, in the same transaction.
   */
  create(session: NewSession, source: SessionSource | undefined, startNewUser: () => Promise<NewUserStart>): Promise<'created' | ReplayRefusal>;
  /** The live session a token names; expired ones are absent even before TTL deletes them. */
  find(ref: SessionRef, nowSeconds: number): Promise<Session | undefined>;
  /** Deletes one session, live or expired (tidy); true if it was live, so an ended one counts as 0. */
  revoke(ref: SessionRef, nowSeconds: number): Promise<boolean>;
  /** Deletes every session of a user (one strongly consistent Query, paged); how many live ones this call deleted. */
  revokeAll(uid: string, nowSeconds: number): Promise<number>;
}

/** Rounds of a BatchGetItem whose keys DynamoDB left unprocessed: 80 then 160 ms between them, no jitter (lib/kernel/retry.ts). */
const UNPROCESSED_BACKOFF: BackoffPolicy = { attempts: 3, baseMs: 40 };
const NO_JITTER = () => 1;
/** Attempts at a login transaction that lost a race with another login of the same user: full jitter up to 20 * 2^n ms. */
const TRANSACTION_ATTEMPTS = 6;
const TRANSACTION_BACKOFF: BackoffPolicy = { attempts: TRANSACTION_ATTEMPTS, baseMs: 20 };

export function createSessionStore(
  db: DynamoDBDocumentClient,
  tables: Pick<TableNames, 'sessions' | 'users' | 'logins'>,
  timing: Timing = {},
): SessionStore {
  /**
   * The deleted item, or undefined if there was none. Conditional, so that two deletes of one session at
   * once cannot both be handed the old item and count it twice; the one that finds it gone gets a failed
   * condition instead.
   */
  const deleteSession = async (ref: SessionRef): Promise<Record<string, unknown> | undefined> => {
    try {
      const { Attributes } = await db.send(
        new DeleteCommand({
          TableName: tables.sessions,
          Key: sessionKey(ref),
          ConditionExpression: 'attribute_exists(tokenHash)',
          ReturnValues: 'ALL_OLD',
        }),
      );
      return Attributes;
    } catch (err) {
      if (conditionFailed(err)) return undefined;
      throw err;
    }
  };
  /** An expired item that TTL has not removed yet was already ended: deleting it is tidying, not revoking. */
  const wasLive = (old: Record<string, unknown> | undefined, nowSeconds: number) => typeof old?.expiresAt === 'number' && old.expiresAt > nowSeconds;

  return {
    async create(session, source, startNewUser) {
      const replayed = source && 'replayed' in source ? source.replayed : undefined;
      const login: UserLogin = {
        uid: session.uid,
        appid: session.appid,
        openid: session.openid,
        unionid: session.unionid,
        nowSeconds: session.createdAt,
        ...(replayed ? { replayOfCodeExchangedAtMs: replayed.exchangedAtMs } : {}),
      };
      const code =
        source &&
        ('exchanged' in source
          ? loginCodeDoneUpdate(tables.logins, source.exchanged, session)
          : loginCodeReplayUpdate(tables.logins, source.replayed, session.createdAt));
      // The code's part first and the user's after the session: a refusal is told by the position of the failed condition.
      const head = [...(code ? [code] : []), { Put: { TableName: tables.sessions, Item: sessionItem(session) } }];
      const userIndex = head.length;
      // Most logins are a returning user's: tried first, that costs one transaction; a new user's costs two, once.
      let start: NewUserStart | undefined;
      let asNew = false;
      for (let attempt = 1; ; attempt++) {
        const items =
          asNew && start
            ? [...head, newUserLoginUpdate(tables.users, login, start.attributes), ...start.items]
            : [...head, returningUserLoginUpdate(tables.users, login)];
        try {
          await db.send(new TransactWriteCommand({ TransactItems: items }));
          return 'created';
        } catch (err) {
          if (replayed && conditionFailed(err, 0)) return 'code used up';
          // A replayed code's user exists (its first login made it): a failed user condition is a log out everywhere since.
          if (replayed && conditionFailed(err, userIndex)) return 'logged out everywhere';
          if (!replayed && conditionFailed(err, userIndex) && attempt < TRANSACTION_ATTEMPTS) {
            // No such user yet (or, for a new one, another login created it a moment ago): the other way round.
            asNew = !asNew;
            start ??= asNew ? await startNewUser() : undefined;
            continue;
          }
          // Another login of the same user holds the item: back off with jitter and go again, while time is left.
          if (!isTransactionConflict(err) || !(await pauseBeforeRetry(TRANSACTION_BACKOFF, attempt, timing))) throw storageError(err);
        }
      }
    },

    async find(ref, nowSeconds) {
      // Strongly consistent: a client checks its login right after logging in.
      const { Item } = await guard(db.send(new GetCommand({ TableName: tables.sessions, Key: sessionKey(ref), ConsistentRead: true })));
      return liveSession(Item, nowSeconds);
    },

    async revoke(ref, nowSeconds) {
      return wasLive(await guard(deleteSession(ref)), nowSeconds);
    },

    async revokeAll(uid, nowSeconds) {
      let revoked = 0;
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await guard(
          db.send(
            new QueryCommand({
              TableName: tables.sessions,
              // The user's partition, read strongly consistent: a session made a moment ago is listed too.
              KeyConditionExpression: 'uid = :uid',
              ExpressionAttributeValues: { ':uid': uid },
              ProjectionExpression: 'uid, tokenHash',
              ConsistentRead: true,
              ExclusiveStartKey,
            }),
          ),
        );
        // A user has a handful of sessions: parallel deletes beat BatchWriteItem's extra permission and retry handling.
        const deleted = await guard(Promise.all((page.Items ?? []).map((item) => deleteSession({ uid, tokenHash: String(item.tokenHash) }))));
        // Only what this call deleted: a session someone else deleted meanwhile is not counted twice.
        revoked += deleted.filter((old) => wasLive(old, nowSeconds)).length;
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return revoked;
    },
  };
}

/**
 * The live session a token names and one more item the token's user names (its user item's attributes in a
 * projection, or another feature's item of that user), in one strongly consistent BatchGetItem: the token names
 * its user. Keys DynamoDB leaves unprocessed (throttling) are asked again, a few rounds while the request has time.
 */
export async function findSessionWithItem(
  db: DynamoDBDocumentClient,
  sessionsTable: string,
  ref: SessionRef,
  nowSeconds: number,
  other: { table: string; key: Record<string, unknown>; projection?: string },
  timing: Timing = {},
): Promise<{ session: Session; item: Record<string, unknown> | undefined } | undefined> {
  let keys: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead: true; ProjectionExpression?: string }> | undefined = {
    [sessionsTable]: { Keys: [sessionKey(ref)], ConsistentRead: true },
    [other.table]: { Keys: [other.key], ConsistentRead: true, ...(other.projection ? { ProjectionExpression: other.projection } : {}) },
  };
  const found: Record<string, Record<string, unknown> | undefined> = {};
  for (let attempt = 1; keys && Object.keys(keys).length > 0; attempt++) {
    const reply = await guard(db.send(new BatchGetCommand({ RequestItems: keys })));
    for (const [table, items] of Object.entries(reply.Responses ?? {})) found[table] = items[0];
    keys = reply.UnprocessedKeys as typeof keys;
    if (keys && Object.keys(keys).length > 0 && !(await pauseBeforeRetry(UNPROCESSED_BACKOFF, attempt, { ...timing, random: NO_JITTER }))) {
      throw new AppError('STORAGE_UNAVAILABLE', 'Storage is unavailable right now: retry in a moment', { storageError: 'UnprocessedKeys' });
    }
  }
  const session = liveSession(found[sessionsTable], nowSeconds);
  return session && { session, item: found[other.table] };
}

/** The live session a token names and its user's attributes in `projection` (undefined without a user): the profile routes. */
export async function findSessionWithUser(
  db: DynamoDBDocumentClient,
  tables: Pick<TableNames, 'sessions' | 'users'>,
  ref: SessionRef,
  nowSeconds: number,
  projection: string,
  timing: Timing = {},
): Promise<{ session: Session; user: Record<string, unknown> | undefined } | undefined> {
  const found = await findSessionWithItem(db, tables.sessions, ref, nowSeconds, { table: tables.users, key: userKey(ref.uid), projection }, timing);
  return found && { session: found.session, user: found.item };
}

/** A session item as a Session, if it is still live: an expired one is absent even before TTL deletes it. */
function liveSession(item: Record<string, unknown> | undefined, nowSeconds: number): Session | undefined {
  if (!item) return undefined;
  const session = parseItem('session', SessionItem, item);
  return session.expiresAt > nowSeconds ? session : undefined;
}

function sessionItem(session: NewSession): Record<string, unknown> {
  return definedOnly({
    ...sessionKey(session),
    appid: session.appid,
    openid: session.openid,
    sessionKey: session.sessionKey,
    createdAt: session.createdAt,
    expiresAt: session.expiresAt,
  });
}
