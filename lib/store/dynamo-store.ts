import {
  DeleteCommand,
  QueryCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DYNAMODB_CLEANUP_BOUND_MS } from '#lib/store/client';
import { conditionalWrite, errorName, guard, storageError } from '#lib/store/errors';
import type { LoginCode, NewSession, Profile, Session, Store } from '#lib/store/store';

export interface Tables {
  sessions: string;
  users: string;
  logins: string;
}

/** Attempts at a login transaction that lost a race with another login of the same user. */
const TRANSACTION_ATTEMPTS = 6;

export function createDynamoStore(db: DynamoDBDocumentClient, tables: Tables): Store {
  /** Sets one attribute (and when it changed) on a user that must already exist. */
  const updateExistingUser = (openid: string, attribute: 'profile' | 'phone', value: unknown, nowSeconds: number) =>
    conditionalWrite(
      db.send(
        new UpdateCommand({
          TableName: tables.users,
          Key: { openid },
          UpdateExpression: `SET ${attribute} = :value, ${attribute}UpdatedAt = :now`,
          ConditionExpression: 'attribute_exists(openid)',
          ExpressionAttributeValues: { ':value': value, ':now': nowSeconds },
        }),
      ),
    );

  return {
    async createSession(session, initialCredit, exchanged) {
      const markCodeDone = exchanged && {
        Update: {
          TableName: tables.logins,
          Key: { codeHash: exchanged.codeHash },
          UpdateExpression:
            'SET #state = :done, openid = :openid, sessionKey = :sessionKey, expiresAt = :replayUntil' +
            (session.unionid ? ', unionid = :unionid' : ''),
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':done': 'done',
            ':openid': session.openid,
            ':sessionKey': session.sessionKey,
            ':replayUntil': exchanged.replayUntil,
            ':unionid': session.unionid,
          },
        },
      };
      const write = new TransactWriteCommand({
        TransactItems: [
          ...(markCodeDone ? [markCodeDone] : []),
          { Put: { TableName: tables.sessions, Item: sessionItem(session) } },
          {
            // if_not_exists: the first login creates the user, later ones never touch the credit.
            Update: {
              TableName: tables.users,
              Key: { openid: session.openid },
              UpdateExpression:
                'SET credit = if_not_exists(credit, :initialCredit), createdAt = if_not_exists(createdAt, :now), lastLoginAt = :now' +
                (session.unionid ? ', unionid = :unionid' : ''),
              ExpressionAttributeValues: {
                ':initialCredit': initialCredit,
                ':now': session.createdAt,
                ':unionid': session.unionid,
              },
            },
          },
        ],
      });
      for (let attempt = 1; ; attempt++) {
        try {
          await db.send(write);
          return;
        } catch (err) {
          if (!isTransactionConflict(err) || attempt === TRANSACTION_ATTEMPTS) throw storageError(err);
          // Another login of the same user holds the item: back off with jitter and go again.
          await sleep(Math.random() * 20 * 2 ** attempt);
        }
      }
    },

    async claimLoginCode(codeHash, nowSeconds, pendingUntil) {
      const claimId = randomUUID();
      try {
        await db.send(
          new PutCommand({
            TableName: tables.logins,
            Item: { codeHash, state: 'pending', expiresAt: pendingUntil, claimId },
            // An expired record (TTL deletion lags) counts as absent.
            ConditionExpression: 'attribute_not_exists(codeHash) OR expiresAt <= :now',
            ExpressionAttributeValues: { ':now': nowSeconds },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { claimed: true, claimId };
      } catch (err) {
        if (errorName(err) !== 'ConditionalCheckFailedException') throw storageError(err);
        // The document client does not unmarshall the item attached to an error.
        const raw = (err as { Item?: Record<string, AttributeValue> }).Item;
        const item = raw ? unmarshall(raw) : undefined;
        // The SDK retried a write whose reply was lost, and our first try had landed: the claim is ours.
        if (item?.claimId === claimId && item.state === 'pending') return { claimed: true, claimId };
        const current = loginCode(item);
        // Without the item (an emulator that does not return it), a pending record is the safe reading.
        return { claimed: false, current: current ?? { state: 'pending', expiresAt: pendingUntil } };
      }
    },

    async findLoginCode(codeHash, nowSeconds) {
      const { Item } = await guard(
        db.send(new GetCommand({ TableName: tables.logins, Key: { codeHash }, ConsistentRead: true })),
      );
      const record = loginCode(Item);
      return record && record.expiresAt > nowSeconds ? record : undefined;
    },

    async releaseLoginCode(codeHash, claimId) {
      await conditionalWrite(
        db.send(
          new DeleteCommand({
            TableName: tables.logins,
            Key: { codeHash },
            ConditionExpression: '#state = :pending AND claimId = :claimId',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':pending': 'pending', ':claimId': claimId },
          }),
          cleanupBound(),
        ),
      );
    },

    async spendLoginCode(codeHash, claimId) {
      await conditionalWrite(
        db.send(
          new UpdateCommand({
            TableName: tables.logins,
            Key: { codeHash },
            UpdateExpression: 'SET #state = :spent',
            ConditionExpression: '#state = :pending AND claimId = :claimId',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':spent': 'spent', ':pending': 'pending', ':claimId': claimId },
          }),
          cleanupBound(),
        ),
      );
    },

    async findSession(tokenHash, nowSeconds) {
      // Strongly consistent: a client checks its login right after logging in.
      const { Item } = await guard(
        db.send(new GetCommand({ TableName: tables.sessions, Key: { tokenHash }, ConsistentRead: true })),
      );
      if (!Item || typeof Item.expiresAt !== 'number' || Item.expiresAt <= nowSeconds) return undefined;
      const session: Session = {
        openid: String(Item.openid),
        sessionKey: String(Item.sessionKey),
        expiresAt: Item.expiresAt,
      };
      if (typeof Item.unionid === 'string') session.unionid = Item.unionid;
      return session;
    },

    async revokeSession(tokenHash) {
      const { Attributes } = await guard(
        db.send(new DeleteCommand({ TableName: tables.sessions, Key: { tokenHash }, ReturnValues: 'ALL_OLD' })),
      );
      return Attributes !== undefined;
    },

    async revokeAllSessions(openid) {
      let revoked = 0;
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await guard(
          db.send(
            new QueryCommand({
              TableName: tables.sessions,
              IndexName: 'byOpenid',
              KeyConditionExpression: 'openid = :openid',
              ExpressionAttributeValues: { ':openid': openid },
              ExclusiveStartKey,
            }),
          ),
        );
        // A user has a handful of sessions: parallel deletes beat BatchWriteItem's extra permission and retry handling.
        const deleted = await guard(
          Promise.all(
            (page.Items ?? []).map((item) =>
              db.send(new DeleteCommand({ TableName: tables.sessions, Key: { tokenHash: item.tokenHash }, ReturnValues: 'ALL_OLD' })),
            ),
          ),
        );
        // Only what this call deleted: a session someone else deleted meanwhile is not counted twice.
        revoked += deleted.filter((reply) => reply.Attributes !== undefined).length;
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return revoked;
    },

    async findCredit(openid) {
      const { Item } = await guard(
        db.send(
          new GetCommand({
            TableName: tables.users,
            Key: { openid },
            ProjectionExpression: 'credit',
            ConsistentRead: true,
          }),
        ),
      );
      return typeof Item?.credit === 'number' ? Item.credit : undefined;
    },

    saveProfile: (openid, profile: Profile, nowSeconds) => updateExistingUser(openid, 'profile', profile, nowSeconds),
    savePhoneNumber: (openid, phone, nowSeconds) => updateExistingUser(openid, 'phone', phone, nowSeconds),
  };
}

function loginCode(item: Record<string, unknown> | undefined): LoginCode | undefined {
  if (!item || typeof item.expiresAt !== 'number') return undefined;
  if (item.state === 'pending' || item.state === 'spent') return { state: item.state, expiresAt: item.expiresAt };
  if (item.state !== 'done' || typeof item.openid !== 'string' || typeof item.sessionKey !== 'string') return undefined;
  const done: LoginCode = { state: 'done', expiresAt: item.expiresAt, openid: item.openid, sessionKey: item.sessionKey };
  if (typeof item.unionid === 'string') done.unionid = item.unionid;
  return done;
}

function sessionItem(session: NewSession): Record<string, unknown> {
  return {
    tokenHash: session.tokenHash,
    openid: session.openid,
    sessionKey: session.sessionKey,
    unionid: session.unionid,
    createdAt: session.createdAt,
    expiresAt: session.expiresAt,
  };
}

function isTransactionConflict(err: unknown): boolean {
  if (errorName(err) !== 'TransactionCanceledException') return false;
  const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.some((reason) => reason.Code === 'TransactionConflict');
}

/** Send options for a cleanup write: aborted once DYNAMODB_CLEANUP_BOUND_MS has passed. */
const cleanupBound = () => ({ abortSignal: AbortSignal.timeout(DYNAMODB_CLEANUP_BOUND_MS) });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
