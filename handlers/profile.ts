import { getProfile } from '#lib/endpoints/profile';
import type { ProfileDeps } from '#lib/platform/deps';
import { httpHandler } from '#lib/platform/http/handler';
import { readAppId, readToken } from '#lib/platform/http/request';
import { profileDeps } from '#lib/platform/wiring';

/** GET /profile -> {"nickName"?, "avatarUrl"?, "phone": {"known", "masked"?}} */
export const createHandler = (deps: ProfileDeps) => httpHandler('profile', async (event) => getProfile(deps, readToken(event), readAppId(event)));

export const handler = createHandler(profileDeps());
