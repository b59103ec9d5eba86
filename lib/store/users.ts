import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import { conditionalWrite, guard } from '#lib/store/errors';
import { definedOnly, parseItem } from '#lib/store/items';

/** A user of the mini-program, keyed by openid; created by its first login (lib/store/sessions.ts). */
export const userKey = (openid: string) => ({ openid });

/** Epoch milliseconds of the user's last log out everywhere: codes exchanged before it are not replayed. */
const CODES_ENDED_AT = 'codeReplaysEndedAtMs';

const CreditItem = v.object({ credit: v.pipe(v.number(), v.integer()) });

export type UserInfo = Record<string, unknown>;
export interface PhoneNumber {
  phoneNumber: string;
  purePhoneNumber: string;
  countryCode: string;
}

export interface UserStore {
  /** The user's credit, or undefined if there is no such user. */
  findCredit(openid: string): Promise<number | undefined>;
  /** Saves the user's phone number; false if the user does not exist. */
  savePhoneNumber(openid: string, phoneNumber: PhoneNumber, nowSeconds: number): Promise<boolean>;
  /** Saves the decrypted wx.getUserInfo() fields; false if the user does not exist. */
  saveUserInfo(openid: string, userInfo: UserInfo, nowSeconds: number): Promise<boolean>;
  /** Logging out everywhere: a code the user exchanged before `nowMs` gives no more sessions. */
  endCodeReplays(openid: string, nowMs: number): Promise<void>;
}

/**
 * The login transaction's part for the user: creates it with the initial credit
 * if new (if_not_exists), and never touches the credit of an existing one. A
 * replay of a code holds only if the user has not logged out everywhere since the code's exchange.
 */
export function userLoginUpdate(
  table: string,
  login: { openid: string; unionid?: string | undefined; nowSeconds: number; initialCredit: number; replayOfCodeExchangedAtMs?: number },
) {
  const replay = login.replayOfCodeExchangedAtMs !== undefined;
  return {
    Update: {
      TableName: table,
      Key: userKey(login.openid),
      UpdateExpression:
        'SET credit = if_not_exists(credit, :initialCredit), createdAt = if_not_exists(createdAt, :now), lastLoginAt = :now' +
        (login.unionid ? ', unionid = :unionid' : ''),
      ...(replay ? { ConditionExpression: `attribute_not_exists(${CODES_ENDED_AT}) OR ${CODES_ENDED_AT} < :exchangedAtMs` } : {}),
      ExpressionAttributeValues: definedOnly({
        ':initialCredit': login.initialCredit,
        ':now': login.nowSeconds,
        ':unionid': login.unionid,
        ':exchangedAtMs': login.replayOfCodeExchangedAtMs,
      }),
    },
  };
}

/**
 * The top-level attributes a profile write touches (the key, the value, when it changed): the userinfo and
 * phonenumber roles may update only these (serverless.yml, checked by test/deploy), so neither can move credit.
 */
export const profileWriteAttributes = (attribute: 'userInfo' | 'phoneNumber') => ['openid', attribute, `${attribute}UpdatedAt`];

export function createUserStore(db: DynamoDBDocumentClient, table: string): UserStore {
  /** Sets one attribute (and when it changed) on a user that must already exist. */
  const updateExisting = (openid: string, attribute: 'userInfo' | 'phoneNumber', value: unknown, nowSeconds: number) => {
    const [, name, updatedAt] = profileWriteAttributes(attribute);
    return conditionalWrite(
      db.send(
        new UpdateCommand({
          TableName: table,
          Key: userKey(openid),
          UpdateExpression: `SET ${name} = :value, ${updatedAt} = :now`,
          ConditionExpression: 'attribute_exists(openid)',
          ExpressionAttributeValues: { ':value': value, ':now': nowSeconds },
        }),
      ),
    );
  };

  return {
    async findCredit(openid) {
      const { Item } = await guard(
        db.send(new GetCommand({ TableName: table, Key: userKey(openid), ProjectionExpression: 'credit', ConsistentRead: true })),
      );
      return Item ? parseItem('user', CreditItem, Item).credit : undefined;
    },
    savePhoneNumber: (openid, phoneNumber, nowSeconds) => updateExisting(openid, 'phoneNumber', { ...phoneNumber }, nowSeconds),
    saveUserInfo: (openid, userInfo, nowSeconds) => updateExisting(openid, 'userInfo', userInfo, nowSeconds),

    async endCodeReplays(openid, nowMs) {
      // Only forward, and only on a user that exists (a logout must not create one): a failed condition is no news.
      await conditionalWrite(
        db.send(
          new UpdateCommand({
            TableName: table,
            Key: userKey(openid),
            UpdateExpression: `SET ${CODES_ENDED_AT} = :now`,
            ConditionExpression: `attribute_exists(openid) AND (attribute_not_exists(${CODES_ENDED_AT}) OR ${CODES_ENDED_AT} < :now)`,
            ExpressionAttributeValues: { ':now': nowMs },
          }),
        ),
      );
    },
  };
}
