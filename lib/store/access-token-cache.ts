import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conditionalWrite, guard } from '#lib/store/errors';

/** WeChat's access_token as shared by every Lambda instance (epoch seconds). */
export interface CachedAccessToken {
  accessToken: string;
  /** When WeChat stops accepting it (0 once an API refused it). */
  expiresAt: number;
  /** When instances should start refreshing it: a few minutes before expiresAt. */
  refreshAt: number;
}

export interface AccessTokenCache {
  read(): Promise<CachedAccessToken | undefined>;
  /** The right to refresh, for one instance at a time, until leaseUntil. */
  takeLease(nowSeconds: number, leaseUntil: number): Promise<boolean>;
  /** Stores a fresh token and gives the lease back. */
  save(token: CachedAccessToken): Promise<void>;
  /** Compare-and-expire: marks the token expired only if it is still the one that failed. */
  expire(failedToken: string): Promise<void>;
}

const KEY = { id: 'wechat-access-token' };
/** TTL cleans the item up a day after the token's life, never while it is in use. */
const TTL_SLACK_SECONDS = 86_400;

export function createAccessTokenCache(db: DynamoDBDocumentClient, table: string): AccessTokenCache {
  return {
    async read() {
      const { Item } = await guard(db.send(new GetCommand({ TableName: table, Key: KEY, ConsistentRead: true })));
      if (typeof Item?.accessToken !== 'string' || typeof Item.expiresAt !== 'number' || typeof Item.refreshAt !== 'number') {
        return undefined;
      }
      return { accessToken: Item.accessToken, expiresAt: Item.expiresAt, refreshAt: Item.refreshAt };
    },

    takeLease: (nowSeconds, leaseUntil) =>
      conditionalWrite(
        db.send(
          new UpdateCommand({
            TableName: table,
            Key: KEY,
            UpdateExpression: 'SET leaseUntil = :until',
            ConditionExpression: 'attribute_not_exists(leaseUntil) OR leaseUntil <= :now',
            ExpressionAttributeValues: { ':until': leaseUntil, ':now': nowSeconds },
          }),
        ),
      ),

    async save(token) {
      await guard(
        db.send(new PutCommand({ TableName: table, Item: { ...KEY, ...token, ttl: token.expiresAt + TTL_SLACK_SECONDS } })),
      );
    },

    async expire(failedToken) {
      await conditionalWrite(
        db.send(
          new UpdateCommand({
            TableName: table,
            Key: KEY,
            UpdateExpression: 'SET expiresAt = :zero, refreshAt = :zero',
            ConditionExpression: 'accessToken = :failed',
            ExpressionAttributeValues: { ':zero': 0, ':failed': failedToken },
          }),
        ),
      );
    },
  };
}
