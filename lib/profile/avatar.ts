import type { Upload } from '#lib/http/multipart';
import { AppError } from '#lib/kernel/errors';
import { logger, withLogFields } from '#lib/kernel/log';
import { epochSeconds } from '#lib/kernel/time';
import type { ImageType } from '#lib/profile/avatar-store';
import type { ProfileDeps } from '#lib/profile/deps';
import { noUserForSession, requireSessionWith, sessionOnly } from '#lib/session/guard';

/** The image's type by its first bytes (magic number), whatever the client says it is. */
export function sniffImage(bytes: Uint8Array): ImageType | undefined {
  const starts = (offset: number, ...expected: number[]) => expected.every((byte, i) => bytes[offset + i] === byte);
  if (bytes.length >= 3 && starts(0, 0xff, 0xd8, 0xff)) return 'jpeg';
  if (bytes.length >= 8 && starts(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  // RIFF <size> WEBP
  if (bytes.length >= 12 && starts(0, 0x52, 0x49, 0x46, 0x46) && starts(8, 0x57, 0x45, 0x42, 0x50)) return 'webp';
  return undefined;
}

/**
 * POST /profile/avatar: the image from <button open-type="chooseAvatar">, sent by wx.uploadFile. The session
 * first, then the body: checked on its bytes (JPEG, PNG or WebP, at most AVATAR_MAX_BYTES), stored under the
 * user's own prefix at a key no other upload uses, then the user is pointed at it in one conditional write
 * that returns the key it replaced, whose object is deleted last, and only after that write succeeded. So the
 * profile never points at a missing object: the replaced key was this upload's to delete (no other upload
 * writes it again), a failed write leaves the old avatar in place (the new object stays, unreferenced, rather
 * than risk deleting one a write of unknown outcome may point at).
 */
export async function uploadAvatar(
  deps: ProfileDeps,
  token: string | undefined,
  readUpload: () => Promise<Upload>,
  appId?: string,
): Promise<{ avatarUrl: string }> {
  // Authenticate first: no body is parsed for a caller without a live session.
  const { session } = await requireSessionWith(deps, token, appId, sessionOnly(deps));
  const upload = await readUpload();
  const max = deps.config.avatars.maxBytes;
  if (upload.tooLarge || upload.bytes.length > max) {
    throw new AppError('IMAGE_TOO_LARGE', `The image is larger than ${max} bytes: send a smaller one`);
  }
  if (upload.bytes.length === 0) throw new AppError('INVALID_IMAGE', 'The file is empty: send a JPEG, PNG or WebP image');
  const type = sniffImage(upload.bytes);
  if (!type) throw new AppError('INVALID_IMAGE', 'The file is not a JPEG, PNG or WebP image');

  const key = await deps.avatars.save(session.appid, session.uid, upload.bytes, type);
  const saved = await deps.profiles.replaceAvatarKey(session.uid, key, epochSeconds(deps.now));
  if (!saved) {
    // Certainly not referenced: the write's condition failed (no user).
    await deps.avatars.remove(key).catch(() => undefined);
    throw noUserForSession();
  }
  let oldDeleted = true;
  // Never the key just written (the profile now points at it); keys are unique per upload, so this is a guard only.
  if (saved.replaced !== undefined && saved.replaced !== key) {
    // Best effort: an object left behind is unreferenced (and private), never shown.
    await deps.avatars.remove(saved.replaced).catch((err: unknown) => {
      oldDeleted = false;
      logger.warn('replaced avatar not deleted', { endpoint: 'avatar', code: err instanceof AppError ? err.code : 'INTERNAL' });
    });
  }
  return withLogFields(
    { avatarUrl: await deps.avatars.url(key) },
    { imageType: type, bytes: upload.bytes.length, replaced: saved.replaced !== undefined, oldDeleted },
  );
}
