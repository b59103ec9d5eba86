import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conditionFailed, storageError } from '#lib/aws/dynamodb-errors';
import { userKey } from '#lib/session/users';

/** The WeChat calls a user is limited in: msg_sec_check of a nickname, getuserphonenumber (paid). */
export type LimitedCall = 'nickNameChecks' | 'phoneNumberExchanges';

/**
 * What a limit writes on the user: its count and when its window opened (epoch ms). The nickname and
 * phonenumber roles may update these besides their own attributes (serverless.yml, checked by test/deploy).
 */
export const limitWriteAttributes = (call: LimitedCall) => [call, `${call}SinceMs`];

export interface UserLimitStore {
  /**
   * Counts one call of the user's, if the window has room: false when `max` calls were counted in the window
   * that is open (it opened at the first call of the window and lasts `windowMs`), or when the user is gone.
   */
  take(uid: string, call: LimitedCall, max: number, windowMs: number, nowMs: number): Promise<boolean>;
}

/**
 * A fixed window per user and call, moved only by conditional UpdateItems, never read first: count in the
 * open window (`count < max`), else open a new one (the old one has ended, or there is none). Two requests at
 * once can neither both open a window nor push the count past `max`; the one that lost the opening counts in
 * the window the other opened. At most 3 writes; 1 in the common case.
 */
export function createUserLimitStore(db: DynamoDBDocumentClient, table: string): UserLimitStore {
  const conditional = async (uid: string, call: LimitedCall, update: string, condition: string, values: Record<string, unknown>) => {
    try {
      await db.send(
        new UpdateCommand({
          TableName: table,
          Key: userKey(uid),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#count': call, '#since': `${call}SinceMs` },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (conditionFailed(err)) return false;
      throw storageError(err);
    }
  };
  return {
    async take(uid, call, max, windowMs, nowMs) {
      const opened = nowMs - windowMs;
      const countInWindow = () =>
        conditional(uid, call, 'SET #count = #count + :one', 'attribute_exists(uid) AND #since > :opened AND #count < :max', {
          ':one': 1,
          ':opened': opened,
          ':max': max,
        });
      if (await countInWindow()) return true;
      const openedNew = await conditional(
        uid,
        call,
        'SET #count = :one, #since = :now',
        'attribute_exists(uid) AND (attribute_not_exists(#since) OR #since <= :opened)',
        { ':one': 1, ':now': nowMs, ':opened': opened },
      );
      // Lost the opening to a simultaneous request: count in the window it opened.
      return openedNew || countInWindow();
    },
  };
}
