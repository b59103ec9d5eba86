import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import { conditionalWrite, guard } from '#lib/store/errors';
import { parseItem } from '#lib/store/items';

/** WeChat's access_token as shared by every Lambda instance: one item in the app-cache table. */
export const accessTokenKey = () => ({ id: 'wechat-access-token' });

/** Epoch seconds. */
export interface CachedAccessToken {
  accessToken: string;
  /** When WeChat stops accepting it (0 once an API refused it). */
  expiresAt: number;
  /** When instances should start refreshing it: a few minutes before expiresAt. */
  refreshAt: number;
}

const CachedAccessTokenItem = v.object({ accessToken: v.string(), expiresAt: v.number(), refreshAt: v.number() });

export interface AccessTokenStore {
  read(): Promise<CachedAccessToken | undefined>;
  /** The right to refresh, for one instance at a time, until leaseUntil. */
  takeLease(nowSeconds: number, leaseUntil: number): Promise<boolean>;
  /** Stores a fresh token and gives the lease back. */
  save(token: CachedAccessToken): Promise<void>;
  /** Compare-and-expire: marks the token expired only if it is still the one that failed. */
  expire(failedToken: string): Promise<void>;
}

/** TTL cleans the item up a day after the token's life, never while it is in use. */
const TTL_SLACK_SECONDS = 86_400;

export function createAccessTokenStore(db: DynamoDBDocumentClient, table: string): AccessTokenStore {
  return {
    async read() {
      const { Item } = await guard(db.send(new GetCommand({ TableName: table, Key: accessTokenKey(), ConsistentRead: true })));
      // The lease alone (taken before any token was ever saved) is no token yet.
      if (!Item || Item.accessToken === undefined) return undefined;
      return parseItem('access token', CachedAccessTokenItem, Item);
    },

    takeLease: (nowSeconds, leaseUntil) =>
      conditionalWrite(
        db.send(
          new UpdateCommand({
            TableName: table,
            Key: accessTokenKey(),
            UpdateExpression: 'SET leaseUntil = :until',
            ConditionExpression: 'attribute_not_exists(leaseUntil) OR leaseUntil <= :now',
            ExpressionAttributeValues: { ':until': leaseUntil, ':now': nowSeconds },
          }),
        ),
      ),

    async save(token) {
      await guard(db.send(new PutCommand({ TableName: table, Item: { ...accessTokenKey(), ...token, ttl: token.expiresAt + TTL_SLACK_SECONDS } })));
    },

    async expire(failedToken) {
      await conditionalWrite(
        db.send(
          new UpdateCommand({
            TableName: table,
            Key: accessTokenKey(),
            UpdateExpression: 'SET expiresAt = :zero, refreshAt = :zero',
            ConditionExpression: 'accessToken = :failed',
            ExpressionAttributeValues: { ':zero': 0, ':failed': failedToken },
          }),
        ),
      );
    },
  };
}
