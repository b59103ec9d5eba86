import { httpHandler } from '#lib/http/handler';
import { bodyReader, readAppId, readToken } from '#lib/http/request';
import type { ProfileDeps } from '#lib/profile/deps';
import { NicknameBody, setNickname } from '#lib/profile/nickname';
import type { WeChatApiDeps } from '#lib/session/deps';
import { profileWeChatDeps } from '#lib/wiring';

/** PUT /profile {"nickName"} (checked by WeChat's msg_sec_check) -> the profile */
export const createHandler = (deps: ProfileDeps & WeChatApiDeps) =>
  httpHandler('nickname', async (event) => setNickname(deps, readToken(event), bodyReader(event, NicknameBody), readAppId(event)));

export const handler = createHandler(profileWeChatDeps());
