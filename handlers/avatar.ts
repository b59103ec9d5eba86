import { httpHandler } from '#lib/http/handler';
import { uploadReader } from '#lib/http/multipart';
import { readAppId, readToken } from '#lib/http/request';
import { uploadAvatar } from '#lib/profile/avatar';
import type { ProfileDeps } from '#lib/profile/deps';
import { profileDeps } from '#lib/wiring';

/** POST /profile/avatar (multipart/form-data, the image in the field "file", as wx.uploadFile sends it) -> {"avatarUrl"} */
export const createHandler = (deps: ProfileDeps) =>
  httpHandler('avatar', async (event) =>
    uploadAvatar(deps, readToken(event), uploadReader(event, { field: 'file', maxFileBytes: deps.config.avatars.maxBytes }), readAppId(event)),
  );

export const handler = createHandler(profileDeps());
