import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import { conditionalWrite, conditionFailed, storageError } from '#lib/aws/dynamodb-errors';
import { parseItem } from '#lib/aws/items';
import type { TableNames } from '#lib/aws/tables';
import type { Timing } from '#lib/kernel/retry';
import type { SessionRead } from '#lib/session/guard';
import { findSessionWithUser, type Session } from '#lib/session/session-store';
import type { SessionRef } from '#lib/session/token';
import { profileWriteAttributes, userKey } from '#lib/session/users';

/**
 * What a user has filled in of their profile, on the user item (lib/session/users.ts): the nickname from
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

/** The guard's read (lib/session/guard.ts requireSessionWith): the session and its user's profile, in one round-trip. */
export const sessionWithProfile =
  (deps: { profiles: ProfileStore }): SessionRead<Profile> =>
  async (ref, nowSeconds) => {
    const found = await deps.profiles.findWithProfile(ref, nowSeconds);
    return found && { session: found.session, user: found.profile };
  };

export function createProfileStore(db: DynamoDBDocumentClient, tables: Pick<TableNames, 'sessions' | 'users'>, timing: Timing = {}): ProfileStore {
  return {
    async findWithProfile(ref, nowSeconds) {
      // Strongly consistent: a profile is read right after its write.
      const found = await findSessionWithUser(db, tables, ref, nowSeconds, PROJECTION, timing);
      if (!found) return undefined;
      const { session, user } = found;
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
        if (conditionFailed(err)) return undefined;
        throw storageError(err);
      }
    },
  };
}
