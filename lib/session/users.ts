import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import { conditionalWrite, guard } from '#lib/aws/dynamodb-errors';
import { definedOnly, parseItem } from '#lib/aws/items';
import type { PhoneNumber } from '#lib/wechat/phone-number';

/**
 * A user of one mini-program, keyed by uid (lib/session/token.ts userId: its app and openid, hashed);
 * created by its first login (lib/session/session-store.ts). The same person in two apps is two users.
 */
export const userKey = (uid: string) => ({ uid });
/** The sparse index of users WeChat gave a unionid: one person's accounts across a team's apps. */
const BY_UNIONID = 'byUnionid';

/** Epoch milliseconds of the user's last log out everywhere: codes exchanged before it are not replayed. */
const CODES_ENDED_AT = 'codeReplaysEndedAtMs';
/** What logging out everywhere writes on the user: the logout role may update only these (serverless.yml, test/deploy). */
export const replayMarkWriteAttributes = ['uid', CODES_ENDED_AT];

export type UserInfo = Record<string, unknown>;
export type { PhoneNumber };

export interface LinkedAccount {
  appid: string;
  openid: string;
  uid: string;
}

const LinkedItem = v.object({ appid: v.string(), openid: v.string(), uid: v.string() });

export interface UserStore {
  /** Saves the user's phone number; false if the user does not exist. */
  savePhoneNumber(uid: string, phoneNumber: PhoneNumber, nowSeconds: number): Promise<boolean>;
  /** Saves the decrypted wx.getUserInfo() fields; false if the user does not exist. */
  saveUserInfo(uid: string, userInfo: UserInfo, nowSeconds: number): Promise<boolean>;
  /** Logging out everywhere: a code the user exchanged before `nowMs` gives no more sessions. */
  endCodeReplays(uid: string, nowMs: number): Promise<void>;
  /**
   * One person's users across the team's apps (WeChat gives the same unionid in every app of one
   * Open Platform account). For the team's own services: no endpoint serves it. Eventually consistent (a GSI).
   */
  findByUnionid(unionid: string): Promise<LinkedAccount[]>;
  /** The user's balance, strongly consistent; undefined if there is no such user. */
}

/** Who logs in: what the login transaction writes on the user either way. */
export interface UserLogin {
  uid: string;
  appid: string;
  openid: string;
  unionid?: string | undefined;
  nowSeconds: number;
  /** Set for a replay of a code: it holds only if the user has not logged out everywhere since the code's exchange. */
  replayOfCodeExchangedAtMs?: number;
}

const loginFields = (login: UserLogin) => 'lastLoginAt = :now, appid = :appid, openid = :openid' + (login.unionid ? ', unionid = :unionid' : '');

/**
 * The login transaction's part for a returning user: it must exist, and its balance is not touched. A
 * replay of a code holds only if the user has not logged out everywhere since the code's exchange.
 */
export function returningUserLoginUpdate(table: string, login: UserLogin) {
  const replay = login.replayOfCodeExchangedAtMs !== undefined;
  return {
    Update: {
      TableName: table,
      Key: userKey(login.uid),
      UpdateExpression: `SET ${loginFields(login)}`,
      ConditionExpression: replay
        ? `attribute_exists(uid) AND (attribute_not_exists(${CODES_ENDED_AT}) OR ${CODES_ENDED_AT} < :exchangedAtMs)`
        : 'attribute_exists(uid)',
      ExpressionAttributeValues: definedOnly({
        ':now': login.nowSeconds,
        ':appid': login.appid,
        ':openid': login.openid,
        ':unionid': login.unionid,
        ':exchangedAtMs': login.replayOfCodeExchangedAtMs,
      }),
    },
  };
}

/** The attributes a profile function writes, one each: the decrypted userinfo, the phone number, the nickname, the avatar's S3 key. */
export type ProfileAttribute = 'userInfo' | 'phoneNumber' | 'nickName' | 'avatarKey';

/**
 * The login transaction's part for a new user: created only if absent, with the sign-up grant as its
 * balance and its ledger's first entry (lib/credit/ledger.ts signupEntryPut, in the same transaction).
 */
export function newUserLoginUpdate(table: string, login: UserLogin, start: Record<string, string | number>) {
  // The other features' own attributes of a new user (credit's balance), by name: #s0 = :s0, …
  const names = Object.keys(start);
  const assignments = names.map((_, i) => `, #s${i} = :s${i}`).join('');
  return {
    Update: {
      TableName: table,
      Key: userKey(login.uid),
      UpdateExpression: `SET ${loginFields(login)}, createdAt = :now${assignments}`,
      ConditionExpression: 'attribute_not_exists(uid)',
      ...(names.length > 0 ? { ExpressionAttributeNames: Object.fromEntries(names.map((name, i) => [`#s${i}`, name])) } : {}),
      ExpressionAttributeValues: definedOnly({
        ':now': login.nowSeconds,
        ':appid': login.appid,
        ':openid': login.openid,
        ':unionid': login.unionid,
        ...Object.fromEntries(names.map((name, i) => [`:s${i}`, start[name]])),
      }),
    },
  };
}

/**
 * The top-level attributes a profile write touches (the key, the value, when it changed): the userinfo,
 * phonenumber, nickname and avatar roles may update only these (serverless.yml, checked by test/deploy), so
 * none can move credit.
 */
export const profileWriteAttributes = (attribute: ProfileAttribute) => ['uid', attribute, `${attribute}UpdatedAt`];

export function createUserStore(db: DynamoDBDocumentClient, table: string): UserStore {
  /** Sets one attribute (and when it changed) on a user that must already exist. */
  const updateExisting = (uid: string, attribute: 'userInfo' | 'phoneNumber', value: unknown, nowSeconds: number) => {
    const [, name, updatedAt] = profileWriteAttributes(attribute);
    return conditionalWrite(
      db.send(
        new UpdateCommand({
          TableName: table,
          Key: userKey(uid),
          UpdateExpression: `SET ${name} = :value, ${updatedAt} = :now`,
          ConditionExpression: 'attribute_exists(uid)',
          ExpressionAttributeValues: { ':value': value, ':now': nowSeconds },
        }),
      ),
    );
  };

  return {
    savePhoneNumber: (uid, phoneNumber, nowSeconds) => updateExisting(uid, 'phoneNumber', { ...phoneNumber }, nowSeconds),
    saveUserInfo: (uid, userInfo, nowSeconds) => updateExisting(uid, 'userInfo', userInfo, nowSeconds),

    async findByUnionid(unionid) {
      const accounts: LinkedAccount[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await guard(
          db.send(
            new QueryCommand({
              TableName: table,
              IndexName: BY_UNIONID,
              KeyConditionExpression: 'unionid = :unionid',
              ExpressionAttributeValues: { ':unionid': unionid },
              ExclusiveStartKey,
            }),
          ),
        );
        for (const item of page.Items ?? []) accounts.push(parseItem('user', LinkedItem, item));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return accounts;
    },

    async endCodeReplays(uid, nowMs) {
      // Only forward, and only on a user that exists (a logout must not create one): a failed condition is no news.
      await conditionalWrite(
        db.send(
          new UpdateCommand({
            TableName: table,
            Key: userKey(uid),
            UpdateExpression: `SET ${CODES_ENDED_AT} = :now`,
            ConditionExpression: `attribute_exists(uid) AND (attribute_not_exists(${CODES_ENDED_AT}) OR ${CODES_ENDED_AT} < :now)`,
            ExpressionAttributeValues: { ':now': nowMs },
          }),
        ),
      );
    },
  };
}
