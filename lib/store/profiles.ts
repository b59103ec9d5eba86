import { BatchGetCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import type { SessionRef } from '#lib/auth/token';
import type { TableNames } from '#lib/platform/config';
import { remainingMs } from '#lib/platform/deadline';
import { AppError } from '#lib/platform/errors';
import { sleep } from '#lib/platform/time';
import { conditionalWrite, guard, storageError } from '#lib/store/errors';
import { parseItem } from '#lib/store/items';
import { type Session, SessionItem, sessionKey } from '#lib/store/sessions';
import { profileWriteAttributes, userKey } from '#lib/store/users';

/**
 * What a user has filled in of their profile, on the user item (lib/store/users.ts): the nickname from
 * <input type="nickname">, the S3 key of the avatar from <button open-type="chooseAvatar">, and whether
 * a phone number is known (only its digits are read, to mask them).
 */
export interface Profile {
  nickName?: string;
  avatarKey?: string;
  purePhoneNumber?: string;
}

/** Only what a profile reply needs; uid, so that a user with nothing filled in is still found. */
const PROJECTION = 'uid, nickName, avatarKey, phoneNumber.purePhoneNumber';
const ProfileItem = v.object({
  uid: v.string(),
  nickName: v.optional(v.string()),
  avatarKey: v.optional(v.string()),
  phoneNumber: v.optional(v.object({ purePhoneNumber: v.string() })),
});

export interface ProfileStore {
  /** The live session a token names and its user's profile (undefined without a user), read in one round-trip. */
  findWithProfile(ref: SessionRef, nowSeconds: number): Promise<{ session: Session; profile: Profile | undefined } | undefined>;
  /** Saves the (checked) nickname; false if the user does not exist. */
  saveNickName(uid: string, nickName: string, nowSeconds: number): Promise<boolean>;
  /**
   * Points the user at a new avatar object, in one write that also hands back the key it replaced, so
   * that of two uploads at once each deletes exactly what it replaced. Undefined if the user does not exist.
   */
  replaceAvatarKey(uid: string, key: string, nowSeconds: number): Promise<{ replaced: string | undefined } | undefined>;
}

/** Rounds of a BatchGetItem whose keys DynamoDB left unprocessed. */
const UNPROCESSED_ATTEMPTS = 3;

export function createProfileStore(db: DynamoDBDocumentClient, tables: Pick<TableNames, 'sessions' | 'users'>): ProfileStore {
  return {
    async findWithProfile(ref, nowSeconds) {
      // The token names its user: both items in one BatchGetItem, strongly consistent (a profile read right after its write).
      let keys: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead: true; ProjectionExpression?: string }> | undefined = {
        [tables.sessions]: { Keys: [sessionKey(ref)], ConsistentRead: true },
        [tables.users]: { Keys: [userKey(ref.uid)], ConsistentRead: true, ProjectionExpression: PROJECTION },
      };
      const found: Record<string, Record<string, unknown> | undefined> = {};
      for (let attempt = 1; keys && Object.keys(keys).length > 0; attempt++) {
        const backoffMs = 20 * 2 ** attempt;
        if (attempt > UNPROCESSED_ATTEMPTS || (attempt > 1 && remainingMs() <= backoffMs)) {
          throw new AppError('STORAGE_UNAVAILABLE', 'Storage is unavailable right now: retry in a moment', { storageError: 'UnprocessedKeys' });
        }
        if (attempt > 1) await sleep(backoffMs);
        const reply = await guard(db.send(new BatchGetCommand({ RequestItems: keys })));
        for (const [table, items] of Object.entries(reply.Responses ?? {})) found[table] = items[0];
        keys = reply.UnprocessedKeys as typeof keys;
      }
      const item = found[tables.sessions];
      if (!item) return undefined;
      const session = parseItem('session', SessionItem, item);
      if (session.expiresAt <= nowSeconds) return undefined;
      const user = found[tables.users];
      if (!user) return { session, profile: undefined };
      const { nickName, avatarKey, phoneNumber } = parseItem('user', ProfileItem, user);
      return {
        session,
        profile: {
          ...(nickName !== undefined ? { nickName } : {}),
          ...(avatarKey !== undefined ? { avatarKey } : {}),
          ...(phoneNumber ? { purePhoneNumber: phoneNumber.purePhoneNumber } : {}),
        },
      };
    },

    saveNickName(uid, nickName, nowSeconds) {
      const [, name, updatedAt] = profileWriteAttributes('nickName');
      return conditionalWrite(
        db.send(
          new UpdateCommand({
            TableName: tables.users,
            Key: userKey(uid),
            UpdateExpression: `SET ${name} = :value, ${updatedAt} = :now`,
            ConditionExpression: 'attribute_exists(uid)',
            ExpressionAttributeValues: { ':value': nickName, ':now': nowSeconds },
          }),
        ),
      );
    },

    async replaceAvatarKey(uid, key, nowSeconds) {
      const [, name, updatedAt] = profileWriteAttributes('avatarKey');
      try {
        const { Attributes } = await db.send(
          new UpdateCommand({
            TableName: tables.users,
            Key: userKey(uid),
            UpdateExpression: `SET ${name} = :value, ${updatedAt} = :now`,
            ConditionExpression: 'attribute_exists(uid)',
            ExpressionAttributeValues: { ':value': key, ':now': nowSeconds },
            // The fence allows UPDATED_OLD (never ALL_*): the previous key, to delete its object.
            ReturnValues: 'UPDATED_OLD',
          }),
        );
        const replaced = Attributes?.[name as string];
        return { replaced: typeof replaced === 'string' ? replaced : undefined };
      } catch (err) {
        if (err instanceof Error && err.name === 'ConditionalCheckFailedException') return undefined;
        throw storageError(err);
      }
    },
  };
}
