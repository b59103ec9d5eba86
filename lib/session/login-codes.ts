import { randomUUID } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as v from 'valibot';
import { DYNAMODB_CLEANUP_BOUND_MS } from '#lib/aws/dynamodb';
import { conditionalWrite, conditionFailed, guard, storageError } from '#lib/aws/dynamodb-errors';
import { definedOnly, parseItem } from '#lib/aws/items';

/** A recently exchanged wx.login() code, keyed by its hash (codes themselves are never stored). */
export const loginCodeKey = (codeHash: string) => ({ codeHash });

/** What WeChat told us for one wx.login() code, kept briefly so a retry of that code can be answered. */
export type LoginCode =
  | { state: 'pending'; expiresAt: number }
  /** WeChat accepted the code but the session could not be written: WeChat will not take it again. */
  | { state: 'spent'; expiresAt: number }
  | { state: 'done'; expiresAt: number; openid: string; sessionKey: string; unionid?: string; exchangedAtMs: number };

const LoginCodeItem = v.variant('state', [
  v.object({ state: v.literal('pending'), expiresAt: v.number(), claimId: v.optional(v.string()) }),
  v.object({ state: v.literal('spent'), expiresAt: v.number() }),
  v.object({
    state: v.literal('done'),
    expiresAt: v.number(),
    openid: v.string(),
    sessionKey: v.string(),
    unionid: v.optional(v.string()),
    exchangedAtMs: v.number(),
  }),
]);

/** The code a new session came from: marked done, with its WeChat answer, in the login transaction. */
export interface ExchangedCode {
  codeHash: string;
  /** Epoch seconds until which a retry of the code gets a session too. */
  replayUntil: number;
  /** Epoch milliseconds: a log out everywhere after this moment ends the code's replays. */
  exchangedAtMs: number;
}

/** A retry of a done code: its session is one more, counted on the code's record. */
export interface ReplayedCode {
  codeHash: string;
  exchangedAtMs: number;
  /** Sessions beyond the first that the code may still give. */
  maxReplays: number;
}

/** claimId tells our own claim from another request's (e.g. when a retried write finds its own first try). */
export type CodeClaim = { claimed: true; claimId: string } | { claimed: false; current: LoginCode };

export interface LoginCodeStore {
  /** Takes a code for exchange unless a live record of it exists; that record is returned instead. */
  claim(codeHash: string, nowSeconds: number, pendingUntil: number): Promise<CodeClaim>;
  /** The live record of a code, if any. */
  find(codeHash: string, nowSeconds: number): Promise<LoginCode | undefined>;
  /** Gives our pending claim up after a failed exchange, so that a retry can ask WeChat again. */
  release(codeHash: string, claimId: string): Promise<void>;
  /** Marks our claim spent: WeChat took the code, so a retry can be refused at once without asking it. */
  spend(codeHash: string, claimId: string): Promise<void>;
}

/** The login transaction's part for the code: done, with what a retry needs to get a session of its own. */
export function loginCodeDoneUpdate(
  table: string,
  exchanged: ExchangedCode,
  wechat: { openid: string; sessionKey: string; unionid?: string | undefined },
) {
  return {
    Update: {
      TableName: table,
      Key: loginCodeKey(exchanged.codeHash),
      UpdateExpression:
        'SET #state = :done, openid = :openid, sessionKey = :sessionKey, expiresAt = :replayUntil, exchangedAtMs = :exchangedAtMs' +
        (wechat.unionid ? ', unionid = :unionid' : ''),
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: definedOnly({
        ':done': 'done',
        ':openid': wechat.openid,
        ':sessionKey': wechat.sessionKey,
        ':replayUntil': exchanged.replayUntil,
        ':exchangedAtMs': exchanged.exchangedAtMs,
        ':unionid': wechat.unionid,
      }),
    },
  };
}

/**
 * A replay's part for the code: counts one more session, and holds only while the
 * record is done, live and under its cap (a condition, so simultaneous replays never overshoot it).
 */
export function loginCodeReplayUpdate(table: string, replayed: ReplayedCode, nowSeconds: number) {
  return {
    Update: {
      TableName: table,
      Key: loginCodeKey(replayed.codeHash),
      UpdateExpression: 'SET replays = if_not_exists(replays, :zero) + :one',
      ConditionExpression: '#state = :done AND expiresAt > :now AND (attribute_not_exists(replays) OR replays < :maxReplays)',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':done': 'done', ':now': nowSeconds, ':zero': 0, ':one': 1, ':maxReplays': replayed.maxReplays },
    },
  };
}

export function createLoginCodeStore(db: DynamoDBDocumentClient, table: string): LoginCodeStore {
  /** A conditional write on our own pending claim, bounded like every cleanup after a failed login. */
  const onOwnClaim = (command: DeleteCommand | UpdateCommand) =>
    conditionalWrite(db.send(command, { abortSignal: AbortSignal.timeout(DYNAMODB_CLEANUP_BOUND_MS) }));
  const ownClaim = {
    ConditionExpression: '#state = :pending AND claimId = :claimId',
    ExpressionAttributeNames: { '#state': 'state' },
  };

  return {
    async claim(codeHash, nowSeconds, pendingUntil) {
      const claimId = randomUUID();
      try {
        await db.send(
          new PutCommand({
            TableName: table,
            Item: { ...loginCodeKey(codeHash), state: 'pending', expiresAt: pendingUntil, claimId },
            // An expired record (TTL deletion lags) counts as absent.
            ConditionExpression: 'attribute_not_exists(codeHash) OR expiresAt <= :now',
            ExpressionAttributeValues: { ':now': nowSeconds },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { claimed: true, claimId };
      } catch (err) {
        if (!conditionFailed(err)) throw storageError(err);
        // The document client does not unmarshall the item attached to an error.
        const raw = (err as { Item?: Record<string, AttributeValue> }).Item;
        const item = raw ? unmarshall(raw) : undefined;
        // The SDK retried a write whose reply was lost, and our first try had landed: the claim is ours.
        if (item?.claimId === claimId && item.state === 'pending') return { claimed: true, claimId };
        // Without the item (an emulator that does not return it), a pending record is the safe reading.
        return { claimed: false, current: item ? loginCode(item) : { state: 'pending', expiresAt: pendingUntil } };
      }
    },

    async find(codeHash, nowSeconds) {
      const { Item } = await guard(db.send(new GetCommand({ TableName: table, Key: loginCodeKey(codeHash), ConsistentRead: true })));
      const record = Item ? loginCode(Item) : undefined;
      return record && record.expiresAt > nowSeconds ? record : undefined;
    },

    async release(codeHash, claimId) {
      await onOwnClaim(
        new DeleteCommand({
          TableName: table,
          Key: loginCodeKey(codeHash),
          ...ownClaim,
          ExpressionAttributeValues: { ':pending': 'pending', ':claimId': claimId },
        }),
      );
    },

    async spend(codeHash, claimId) {
      await onOwnClaim(
        new UpdateCommand({
          TableName: table,
          Key: loginCodeKey(codeHash),
          UpdateExpression: 'SET #state = :spent',
          ...ownClaim,
          ExpressionAttributeValues: { ':spent': 'spent', ':pending': 'pending', ':claimId': claimId },
        }),
      );
    },
  };
}

function loginCode(item: Record<string, unknown>): LoginCode {
  const record = parseItem('login code', LoginCodeItem, item);
  return record.state === 'pending' ? { state: 'pending', expiresAt: record.expiresAt } : record;
}
