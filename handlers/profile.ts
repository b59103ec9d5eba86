import { httpHandler } from '#lib/http/handler';
import { readAppId, readToken } from '#lib/http/request';
import type { ProfileDeps } from '#lib/profile/deps';
import { getProfile } from '#lib/profile/profile';
import { profileDeps } from '#lib/wiring';

/** GET /profile -> {"nickName"?, "avatarUrl"?, "phone": {"known", "masked"?}} */
export const createHandler = (deps: ProfileDeps) => httpHandler('profile', async (event) => getProfile(deps, readToken(event), readAppId(event)));

export const handler = createHandler(profileDeps());
