import { createHash } from 'node:crypto';
import type { S3Bucket } from '#lib/aws/s3';

/** Every avatar lives under this prefix: the avatar function may write and delete only there (serverless.yml, test/deploy). */
export const AVATAR_PREFIX = 'avatars/';

export type ImageType = 'jpeg' | 'png' | 'webp';
export const CONTENT_TYPE: Readonly<Record<ImageType, string>> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };
const EXTENSION: Readonly<Record<ImageType, string>> = { jpeg: 'jpg', png: 'png', webp: 'webp' };

/**
 * `avatars/<appid>/<uid>/<content hash>.<ext>`: per app, per user (uid comes from the session, never from the
 * client, so only that user's uploads reach their prefix), named by its content, so the same image uploaded
 * again is the same object.
 */
export const avatarKey = (appid: string, uid: string, bytes: Uint8Array, type: ImageType): string =>
  `${AVATAR_PREFIX}${appid}/${uid}/${createHash('sha256').update(bytes).digest('base64url').slice(0, 32)}.${EXTENSION[type]}`;

export interface AvatarStore {
  /** Stores the image under its key; the key. */
  save(appid: string, uid: string, bytes: Uint8Array, type: ImageType): Promise<string>;
  remove(key: string): Promise<void>;
  /** A short-lived presigned GET of the avatar, which <image src> loads without any header. */
  url(key: string): Promise<string>;
}

export function createAvatarStore(bucket: S3Bucket, urlTtlSeconds: number): AvatarStore {
  return {
    async save(appid, uid, bytes, type) {
      const key = avatarKey(appid, uid, bytes, type);
      await bucket.put(key, bytes, CONTENT_TYPE[type]);
      return key;
    },
    remove: (key) => bucket.delete(key),
    url: (key) => bucket.presignGet(key, urlTtlSeconds),
  };
}
