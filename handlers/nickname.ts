import { NicknameBody, setNickname } from '#lib/endpoints/nickname';
import type { ProfileDeps, WeChatApiDeps } from '#lib/platform/deps';
import { httpHandler } from '#lib/platform/http/handler';
import { bodyReader, readAppId, readToken } from '#lib/platform/http/request';
import { profileWeChatDeps } from '#lib/platform/wiring';

/** PUT /profile {"nickName"} (checked by WeChat's msg_sec_check) -> the profile */
export const createHandler = (deps: ProfileDeps & WeChatApiDeps) =>
  httpHandler('nickname', (event) => setNickname(deps, readToken(event), bodyReader(event, NicknameBody), readAppId(event)));

export const handler = createHandler(profileWeChatDeps());
