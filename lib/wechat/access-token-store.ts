import { createHash, randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import { conditionalWrite, guard } from '#lib/aws/dynamodb-errors';
import { parseItem } from '#lib/aws/items';

/** One app's WeChat access_token as shared by every Lambda instance: one item (and lease) per app in the app-cache table. */
export const accessTokenKey = (appId: string) => ({ id: `access-token#${appId}` });

/** What a token fetched after a refusal records of the refused one: a hash, never the token. */
export const renewalOf = (refusedToken: string) => createHash('sha256').update(refusedToken, 'utf8').digest('base64url').slice(0, 22);

/** Epoch seconds. */
export interface CachedAccessToken {
  accessToken: string;
  /** When WeChat stops accepting it (0 once an API refused it). */
  expiresAt: number;
  /** When instances should start refreshing it: a few minutes before expiresAt. */
  refreshAt: number;
  /**
   * Set when it was fetched because WeChat refused another token: a hash of that token (renewalOf). An instance
   * whose call was refused with the same token takes this one instead of asking WeChat again.
   */
  renews?: string | undefined;
  /** When (epoch ms, the injected clock) the call to WeChat that handed it out started. */
  fetchedAtMs?: number | undefined;
}

/** The force_refresh calls this cache made: WeChat allows 20 a day, at least 30 s apart. */
export interface ForcedRefreshes {
  /** Epoch seconds of the last one. */
  lastAt: number;
  /** The WeChat day (Beijing time) that `count` is for. */
  day: number;
  count: number;
}

export interface CachedAccessTokenState extends CachedAccessToken {
  forced?: ForcedRefreshes;
}

const CachedAccessTokenItem = v.object({
  accessToken: v.string(),
  expiresAt: v.number(),
  refreshAt: v.number(),
  renews: v.optional(v.string()),
  fetchedAtMs: v.optional(v.number()),
  forcedAt: v.optional(v.number()),
  forcedDay: v.optional(v.number()),
  forcedCount: v.optional(v.number()),
});

export interface AccessTokenStore {
  read(): Promise<CachedAccessTokenState | undefined>;
  /** The right to refresh, for one instance at a time, until leaseUntil: the lease's id, or undefined while another instance holds it. */
  takeLease(nowSeconds: number, leaseUntil: number): Promise<string | undefined>;
  /** Gives the lease back, if it is still this one (a refresh that failed, or found nothing to do). */
  releaseLease(leaseId: string): Promise<void>;
  /** Records a force_refresh about to be made; false if the lease was lost meanwhile. */
  recordForce(leaseId: string, forced: ForcedRefreshes): Promise<boolean>;
  /**
   * Stores a fresh token and gives the lease back, only while the lease is still this one;
   * false if it was taken over: a newer refresh may have replaced (invalidated) this token.
   */
  save(token: CachedAccessToken, leaseId: string): Promise<boolean>;
  /** Compare-and-expire: marks the token expired only if it is still the one that failed. */
  expire(failedToken: string): Promise<void>;
}

/** TTL cleans the item up a day after the token's life, never while it is in use. */
const TTL_SLACK_SECONDS = 86_400;

export function createAccessTokenStore(db: DynamoDBDocumentClient, table: string, appId: string): AccessTokenStore {
  const update = (input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName' | 'Key'>) =>
    conditionalWrite(db.send(new UpdateCommand({ TableName: table, Key: accessTokenKey(appId), ...input })));

  return {
    async read() {
      const { Item } = await guard(db.send(new GetCommand({ TableName: table, Key: accessTokenKey(appId), ConsistentRead: true })));
      // The lease alone (taken before any token was ever saved) is no token yet.
      if (!Item || Item.accessToken === undefined) return undefined;
      const { forcedAt, forcedDay, forcedCount, ...token } = parseItem('access token', CachedAccessTokenItem, Item);
      if (forcedAt === undefined || forcedDay === undefined || forcedCount === undefined) return token;
      return { ...token, forced: { lastAt: forcedAt, day: forcedDay, count: forcedCount } };
    },

    async takeLease(nowSeconds, leaseUntil) {
      // An id, not only a time: a save or release must know the lease is still its own.
      const leaseId = randomUUID();
      const taken = await update({
        UpdateExpression: 'SET leaseUntil = :until, leaseId = :id',
        ConditionExpression: 'attribute_not_exists(leaseUntil) OR leaseUntil <= :now',
        ExpressionAttributeValues: { ':until': leaseUntil, ':now': nowSeconds, ':id': leaseId },
      });
      return taken ? leaseId : undefined;
    },

    async releaseLease(leaseId) {
      await update({
        UpdateExpression: 'REMOVE leaseUntil, leaseId',
        ConditionExpression: 'leaseId = :id',
        ExpressionAttributeValues: { ':id': leaseId },
      });
    },

    recordForce: (leaseId, forced) =>
      update({
        UpdateExpression: 'SET forcedAt = :at, forcedDay = :day, forcedCount = :count',
        ConditionExpression: 'leaseId = :id',
        ExpressionAttributeValues: { ':at': forced.lastAt, ':day': forced.day, ':count': forced.count, ':id': leaseId },
      }),

    save: (token, leaseId) =>
      update({
        // An update, not a put: the record of forced refreshes outlives the token.
        UpdateExpression: `SET accessToken = :token, expiresAt = :expiresAt, refreshAt = :refreshAt, #ttl = :ttl, fetchedAtMs = :fetchedAtMs${token.renews ? ', renews = :renews' : ''} REMOVE leaseUntil, leaseId${token.renews ? '' : ', renews'}`,
        ConditionExpression: 'leaseId = :id',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':token': token.accessToken,
          ':expiresAt': token.expiresAt,
          ':refreshAt': token.refreshAt,
          ':ttl': token.expiresAt + TTL_SLACK_SECONDS,
          ':id': leaseId,
          ':fetchedAtMs': token.fetchedAtMs ?? 0,
          ...(token.renews ? { ':renews': token.renews } : {}),
        },
      }),

    async expire(failedToken) {
      await update({
        UpdateExpression: 'SET expiresAt = :zero, refreshAt = :zero',
        ConditionExpression: 'accessToken = :failed',
        ExpressionAttributeValues: { ':zero': 0, ':failed': failedToken },
      });
    },
  };
}
