import { randomBytes } from 'node:crypto';
import type { S3Bucket } from '#lib/aws/s3';

/** Every avatar lives under this prefix: the avatar function may write and delete only there (serverless.yml, test/deploy). */
export const AVATAR_PREFIX = 'avatars/';

export type ImageType = 'jpeg' | 'png' | 'webp';
export const CONTENT_TYPE: Readonly<Record<ImageType, string>> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };
const EXTENSION: Readonly<Record<ImageType, string>> = { jpeg: 'jpg', png: 'png', webp: 'webp' };

/**
 * `avatars/<appid>/<uid>/<192 random bits>.<ext>`: per app, per user (uid comes from the session, never from
 * the client, so only that user's uploads reach their prefix), and a new key for every upload, even of the
 * same image. A key named by its content was shared by two uploads of one image: an upload replacing it
 * deleted it while the other, re-picking the current image, pointed the profile back at it (README Decisions).
 * A unique key is written by one upload only, so the key an upload replaced is never the one the profile
 * points at next.
 */
export const avatarKey = (appId: string, uid: string, type: ImageType): string =>
  `${AVATAR_PREFIX}${appId}/${uid}/${randomBytes(24).toString('base64url')}.${EXTENSION[type]}`;

export interface AvatarStore {
  /** Stores the image under a key of its own (never one used before); the key. */
  save(appId: string, uid: string, bytes: Uint8Array, type: ImageType): Promise<string>;
  remove(key: string): Promise<void>;
  /** A short-lived presigned GET of the avatar, which <image src> loads without any header. */
  url(key: string): Promise<string>;
}

export function createAvatarStore(bucket: S3Bucket, urlTtlSeconds: number): AvatarStore {
  return {
    async save(appId, uid, bytes, type) {
      const key = avatarKey(appId, uid, type);
      await bucket.put(key, bytes, CONTENT_TYPE[type]);
      return key;
    },
    remove: (key) => bucket.delete(key),
    url: (key) => bucket.presignGet(key, urlTtlSeconds),
  };
}
