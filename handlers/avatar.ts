import { uploadAvatar } from '#lib/endpoints/avatar';
import type { ProfileDeps } from '#lib/platform/deps';
import { httpHandler } from '#lib/platform/http/handler';
import { uploadReader } from '#lib/platform/http/multipart';
import { readAppId, readToken } from '#lib/platform/http/request';
import { profileDeps } from '#lib/platform/wiring';

/** POST /profile/avatar (multipart/form-data, the image in the field "file", as wx.uploadFile sends it) -> {"avatarUrl"} */
export const createHandler = (deps: ProfileDeps) =>
  httpHandler('avatar', async (event) =>
    uploadAvatar(deps, readToken(event), uploadReader(event, { field: 'file', maxFileBytes: deps.config.avatars.maxBytes }), readAppId(event)),
  );

export const handler = createHandler(profileDeps());
